"""gateconform: a regression and conformance harness for LLM gateways (LiteLLM first)."""

__version__ = "0.1.0"
