"""The probe kinds, by name: the one place the runner, judge, oracle and reports ask.

Built-in kinds are registered here when this module is imported (a new built-in kind is one
module and one entry in `BUILT_IN`); a kind from elsewhere (a plugin, a test) calls
`register()`. Registering a kind also tells the model how its checks read
(`harness.model.check.word_checks`), so a check's title is its kind's sentence everywhere.
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator

from harness.model.check import Judgement, word_checks
from harness.model.routes import route_key
from harness.probes import (
    admin, audio, chat, completions, embeddings, generate_content, images, interactions, list_models, messages,
    model_group_info, model_info, model_utils, moderations, ocr, passthrough, path_model, query_model, realtime,
    rerank, responses, retrieve_model, videos,
)
from harness.probes.kind import ProbeKind

#: In registration order, which is the order reports and messages list kinds in: today's two
#: first, then the rest of the request surface (calls, then listings), then the timeline's admin calls.
BUILT_IN: tuple[ProbeKind, ...] = (
    list_models.KIND, chat.KIND,
    *query_model.KINDS, path_model.KIND, completions.KIND, embeddings.KIND, responses.KIND, messages.KIND,
    generate_content.KIND, interactions.KIND, images.KIND, audio.KIND, moderations.KIND, rerank.KIND, ocr.KIND,
    videos.KIND, realtime.KIND, *model_utils.KINDS, passthrough.KIND,
    model_info.KIND, model_group_info.KIND, retrieve_model.KIND, admin.KIND,
)

_KINDS: dict[str, ProbeKind] = {}


class UnknownProbeKind(LookupError):
    """No probe kind of that name is registered."""


def register(kind: ProbeKind) -> ProbeKind:
    """Add `kind`; refuses a name already taken or with `::`, and a second default per judgement."""
    if not kind.name or "::" in kind.name:
        raise ValueError(f"a probe kind's name must be a non-empty text without '::', not {kind.name!r}")
    if kind.name in _KINDS:
        raise ValueError(f"a probe kind named '{kind.name}' is registered already")
    if kind.default:
        taken = next((k for k in _KINDS.values() if k.default and k.judgement is kind.judgement), None)
        if taken is not None:
            raise ValueError(f"'{taken.name}' is already the default kind for {kind.judgement.value} "
                             f"checks; '{kind.name}' cannot be one too")
    _KINDS[kind.name] = kind
    word_checks(kind.name, kind.title)
    return kind


def unregister(name: str) -> None:
    """Remove the kind named `name` (a no-op when there is none)."""
    if _KINDS.pop(name, None) is not None:
        word_checks(name, None)


@contextmanager
def registered(kind: ProbeKind) -> Iterator[ProbeKind]:
    """`kind` registered for the duration of a `with` block (for tests and short-lived plugins)."""
    register(kind)
    try:
        yield kind
    finally:
        unregister(kind.name)


def find(name: str) -> ProbeKind | None:
    """The kind named `name`, or None (e.g. a results document from a run with a plugin kind)."""
    return _KINDS.get(name)


def kind_named(name: str) -> ProbeKind:
    """The kind named `name`; `UnknownProbeKind` naming the registered ones when there is none."""
    kind = _KINDS.get(name)
    if kind is None:
        raise UnknownProbeKind(f"no probe kind named '{name}' (registered: {', '.join(names())})")
    return kind


def kinds() -> tuple[ProbeKind, ...]:
    """Every registered kind, in registration order."""
    return tuple(_KINDS.values())


def names() -> list[str]:
    """The names of the registered kinds, in registration order."""
    return list(_KINDS)


def reaches_upstream(name: str) -> bool:
    """Whether requests of the kind named `name` are meant to reach the fake upstream, so that
    its hits are evidence worth showing (False for a kind nobody registered)."""
    kind = _KINDS.get(name)
    return kind is not None and kind.reaches_upstream


def covered_routes() -> set[tuple[str, str]]:
    """Every route some registered kind probes, as `harness.model.routes.route_key`s."""
    return {route_key(kind.method, route) for kind in _KINDS.values() for route in kind.all_routes}


def route_owner(method: str, route: str) -> tuple[ProbeKind, str | None] | None:
    """The registered kind that probes `method route` and the check variant that names it, or None."""
    wanted = route_key(method, route)
    for kind in _KINDS.values():
        for own in kind.all_routes:
            if route_key(kind.method, own) == wanted:
                return kind, kind.variant_of(own)
    return None


def default_kind(judgement: Judgement) -> ProbeKind:
    """The kind that probes a written expectation of `judgement` (`lists:` or `can_call:`)."""
    found = next((k for k in _KINDS.values() if k.default and k.judgement is judgement), None)
    if found is None:
        raise UnknownProbeKind(f"no probe kind is registered as the default for {judgement.value} checks")
    return found


for _kind in BUILT_IN:
    register(_kind)
