"""Finding gateways: the entry point group `gateconform.gateways`, and the gateways bundled here.

A gateway package declares itself in its distribution's metadata::

    [project.entry-points."gateconform.gateways"]
    mygateway = "mygateway.gateway:GATEWAY"

where `GATEWAY` is a `harness.gateways.base.Gateway`. The gateways bundled with the harness
(`harness/gateways/<name>/gateway.py` exporting `GATEWAY`) are found even when the installed
metadata predates their entry point (an editable install made before it was added); an entry
point of the same name wins. Nothing outside `harness/gateways/<name>/` imports a gateway's
package: they ask this registry.
"""

from __future__ import annotations

import importlib
import pkgutil
from dataclasses import dataclass, field
from importlib import metadata
from typing import Callable

from harness.gateways.base import Gateway
from harness.targets.spec import gateway_name_of

ENTRY_POINT_GROUP = "gateconform.gateways"
#: The gateway a target spec or a scenario means when it names none (the one config place
#: that names a gateway outside its package; tests/unit/test_gateway_boundary.py allows it).
DEFAULT_GATEWAY = "litellm"
#: What a bundled gateway's `gateway` module exports.
BUNDLED_ATTRIBUTE = "GATEWAY"


class UnknownGatewayError(LookupError):
    """No installed gateway has the name asked for."""


@dataclass
class GatewayRegistry:
    """The installed gateways by name, loaded on first use (`harness.targets.spec.Gateways`)."""

    #: name → how to load it (an entry point's `load`, or importing a bundled module)
    loaders: dict[str, Callable[[], Gateway]]
    default: str = DEFAULT_GATEWAY
    _loaded: dict[str, Gateway] = field(default_factory=dict)

    def names(self) -> tuple[str, ...]:
        """Every installed gateway's name, the default first."""
        return tuple(sorted(self.loaders, key=lambda name: (name != self.default, name)))

    def default_name(self) -> str:
        return self.default

    def gateway(self, name: str) -> Gateway:
        """The gateway called `name`; `UnknownGatewayError` naming the installed ones otherwise."""
        if name not in self._loaded:
            loader = self.loaders.get(name)
            if loader is None:
                raise UnknownGatewayError(f"no gateway {name!r} is installed (installed: {', '.join(self.names())})")
            gateway = loader()
            if not isinstance(gateway, Gateway):
                raise TypeError(f"gateway {name!r} is a {type(gateway).__name__}, not a harness.gateways.base.Gateway")
            self._loaded[name] = gateway
        return self._loaded[name]

    def default_gateway(self) -> Gateway:
        return self.gateway(self.default)

    def gateway_of(self, spec: str) -> Gateway:
        """The gateway a target spec is for, from its syntax (nothing judged)."""
        return self.gateway(gateway_name_of(spec, self.names(), self.default))

    @classmethod
    def discover(cls) -> "GatewayRegistry":
        """The gateways bundled here and those declared under `gateconform.gateways`."""
        loaders: dict[str, Callable[[], Gateway]] = dict(bundled_loaders())
        for entry_point in metadata.entry_points(group=ENTRY_POINT_GROUP):
            loaders[entry_point.name] = entry_point.load
        return cls(loaders)


def bundled_loaders() -> dict[str, Callable[[], Gateway]]:
    """The gateways shipped in `harness/gateways/<name>/`, each loaded from its `gateway` module."""
    import harness.gateways

    found: dict[str, Callable[[], Gateway]] = {}
    for module in pkgutil.iter_modules(harness.gateways.__path__):
        if module.ispkg:
            path = f"harness.gateways.{module.name}.gateway"
            found[module.name] = lambda path=path: getattr(importlib.import_module(path), BUNDLED_ATTRIBUTE)
    return found


_registry: GatewayRegistry | None = None


def registry() -> GatewayRegistry:
    """The gateways installed in this environment (discovered once per process)."""
    global _registry
    if _registry is None:
        _registry = GatewayRegistry.discover()
    return _registry


# The process's registry, in short (what `harness.targets.spec` takes as `Gateways`, too).


def names() -> tuple[str, ...]:
    return registry().names()


def default_name() -> str:
    return registry().default_name()


def gateway(name: str) -> Gateway:
    return registry().gateway(name)


def default_gateway() -> Gateway:
    return registry().default_gateway()


def gateway_of(spec: str) -> Gateway:
    return registry().gateway_of(spec)


def title_of(spec: str) -> str:
    """The title of the gateway a target spec is for (`Gateway.title`), for people."""
    return gateway_of(spec).title


def spec_name() -> str:
    """`<gateway>` as help texts write it in `<gateway>==VERSION`: its name, or `a|b` when several are installed."""
    return "|".join(names())
