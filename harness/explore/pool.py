"""The model pool of an explore run: the models and proxy configuration every world declares.

All worlds of one run share the pool, so they share one proxy (a proxy's identity is its model
list and settings, `harness.model.proxy.ProxySpec`) and differ only in what the admin API
provisions. A gateway's default pool is the file `pools/<gateway name>.yaml` beside this module;
`--pool FILE` names another (same shape: `models:` and optionally `proxy:`, in the scenario
language).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.scenario import bounded_yaml

POOLS_FOLDER = Path(__file__).parent / "pools"
#: The fields a pool file may have: the world-independent parts of a scenario.
POOL_FIELDS = ("models", "proxy")


class PoolError(Exception):
    """A pool file that cannot be used (missing, unreadable, of the wrong shape): bad input."""


@dataclass(frozen=True)
class Pool:
    """The models (as the scenario language writes them) and the proxy configuration of a run.

    `models` and `proxy` are copied into every generated world verbatim; the rest are the names
    a world's `models` lists and access groups may draw from.
    """

    source: str  # where it came from, for messages and reports (a file name, never a machine path)
    models: tuple[Any, ...]
    proxy: dict[str, Any] | None

    @property
    def model_names(self) -> tuple[str, ...]:
        """The callable models of the pool (wildcard patterns aside), in pool order."""
        return tuple(name for name in (_name_of(entry) for entry in self.models) if "*" not in name)

    @property
    def wildcards(self) -> tuple[str, ...]:
        """The pool's wildcard deployments (`openai/*`), which an owner's `models` may name too."""
        return tuple(name for name in (_name_of(entry) for entry in self.models) if "*" in name)

    @property
    def config_groups(self) -> tuple[str, ...]:
        """The config model access groups the pool's models carry, in first-seen order."""
        groups: list[str] = []
        for entry in self.models:
            for group in (entry.get("access_groups", []) if isinstance(entry, dict) else []):
                if group not in groups:
                    groups.append(group)
        return tuple(groups)

    def declaration(self) -> dict[str, Any]:
        """The pool's part of a scenario document (`models`, and `proxy` when it has one)."""
        data: dict[str, Any] = {"models": list(self.models)}
        if self.proxy:
            data["proxy"] = self.proxy
        return data


def _name_of(entry: Any) -> str:
    return entry["name"] if isinstance(entry, dict) else str(entry)


def default_pool_path(gateway_name: str) -> Path:
    """The file holding a gateway's default pool."""
    return POOLS_FOLDER / f"{gateway_name}.yaml"


def load_pool(path: Path) -> Pool:
    """Read a pool file; `PoolError` says what is wrong with it (the scenario loader checks the rest)."""
    try:
        node = bounded_yaml.compose(bounded_yaml.read_text(path))
        data = bounded_yaml.construct(node) if node is not None else None
    except bounded_yaml.YamlLimitError as exc:
        raise PoolError(f"{path.name}:{exc.line or 1}: {exc.message}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise PoolError(f"{path}: cannot read: {exc}") from None
    except Exception as exc:  # a YAML syntax error: its own message names the line
        raise PoolError(f"{path.name}: not YAML: {exc}") from None
    if not isinstance(data, dict) or not isinstance(data.get("models"), list) or not data["models"]:
        raise PoolError(f"{path.name}: a pool is a mapping with a non-empty `models:` list")
    unknown = sorted(set(data) - set(POOL_FIELDS))
    if unknown:
        raise PoolError(f"{path.name}: unknown field '{unknown[0]}' (a pool has {', '.join(POOL_FIELDS)})")
    proxy = data.get("proxy")
    if proxy is not None and not isinstance(proxy, dict):
        raise PoolError(f"{path.name}: proxy: expected a mapping")
    return Pool(source=path.name, models=tuple(data["models"]), proxy=proxy)
