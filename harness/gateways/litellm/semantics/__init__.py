"""LiteLLM's documented model-access semantics as code (`Gateway.semantics`).

`rules` quotes the docs, `state` keeps a scenario's world round by round, `access` resolves one
`models` list, `derive` puts them together into `Derived` expectations.
"""

from harness.gateways.litellm.semantics.derive import LiteLLMSemantics

__all__ = ["LiteLLMSemantics"]
