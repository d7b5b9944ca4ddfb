"""Which deployments may serve a called name, as the scenario's world declares them.

A call is proven allowed by the fake upstream's record of it; that record names the deployment
the call was for. For a declared model the deployments are its own; a name a wildcard matches
goes to the wildcard's deployments; an alias (the router's, a team's, a key's) to its target's.
A name the proxy serves on purpose nowhere (`not_served`) has none, so any record of it is
the wrong model. Where the answer is simply the model itself (a plain model with its one
implicit deployment) the check carries nothing (`None`), and reads as before deployments existed.
"""

from __future__ import annotations

from fnmatch import fnmatchcase

from harness.model.scenario import ModelDecl, Scenario


class Serving:
    """The deployments behind each callable name of one scenario."""

    def __init__(self, scenario: Scenario) -> None:
        self._models = {model.name: model for model in scenario.models}
        self._wildcards = [model for model in scenario.models if "*" in model.name]
        self._aliases: dict[str, set[str]] = {}
        for model in scenario.models:
            for alias in model.aliases:
                self._aliases.setdefault(alias, set()).add(model.name)
        for owner in [*scenario.teams, *scenario.keys]:
            aliases = getattr(owner, "model_aliases", None) or getattr(owner, "aliases", None) or {}
            for alias, target in aliases.items():
                self._aliases.setdefault(alias, set()).add(target)
        self._not_served = set(scenario.not_served)

    def of(self, name: str) -> frozenset[str] | None:
        """The deployment ids that may serve a call of `name`; None when that is `name` itself."""
        model = self._models.get(name)
        if model is not None and "*" not in name:
            ids = _ids(model)
            return None if ids == frozenset({name}) else ids
        if name in self._not_served:
            return frozenset()
        found: set[str] = set()
        for target in self._aliases.get(name, ()):
            found |= self._direct(target)
        found |= self._direct(name) if name not in self._aliases else set()
        return frozenset(found)

    def _direct(self, name: str) -> set[str]:
        """Deployments of a model name or of the wildcards it matches (no alias followed)."""
        model = self._models.get(name)
        if model is not None and "*" not in name:
            return set(_ids(model))
        found: set[str] = set()
        for wildcard in self._wildcards:
            if fnmatchcase(name, wildcard.name):
                found |= _ids(wildcard)
        return found


def _ids(model: ModelDecl) -> frozenset[str]:
    return frozenset(d.id for d in model.deployments) or frozenset({model.name})
