"""gateconform: a regression and conformance harness for LLM gateways (each one in `harness/gateways/`)."""

__version__ = "0.1.0"
