"""Reading a `--target` value: the one place a target spec is parsed and judged.

The shape is the harness's (`harness.model.target`): `[local:|docker:|url:]<gateway>==<version>
[@<deps>]`, `<gateway>` or `latest` for the newest release that installs, `newest` for the
newest listed, a bare version for the default gateway, `docker:<image>` for an image. What a version may be, which releases are refused,
which dependency modes exist and how an image reference reads belong to the gateway, asked
through `ReleaseRules`. This module never imports a gateway: the caller hands it the
catalogue of installed gateways (`harness.gateways.registry`), so targets stay below gateways.

`parse_target_spec` needs no network: malformed, compromised and too-old specs are refused from
the text. `check_target` then asks the gateway whether the release is published (and resolves
`latest` and `newest`), before anything installs or starts.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Protocol, Sequence

from harness.model.target import (
    DEPS_SEPARATOR,
    DEPS_TODAY,
    DOCKER,
    DOCKER_PREFIX,
    LATEST,
    LOCAL,
    LOCAL_PREFIX,
    MOVING_VERSIONS,
    URL,
    URL_PREFIX,
    TargetSpec,
    split_deps_suffix,
    target_kind_of,
)
from harness.targets.errors import ReleaseError, TargetError

if TYPE_CHECKING:
    from harness.targets.attach import AttachOptions

#: Characters that make a version a range or a pattern, not one release.
_RANGE_CHARACTERS = ("<", ">", "~", "!", "=", ",", "*")


@dataclass(frozen=True)
class CheckedTarget:
    """A spec that may be run: written one way, plus what the user should read once before it runs."""

    spec: str
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class ParsedImage:
    """What follows `docker:`, as the gateway reads it."""

    text: str  # written one way (how the target is labelled)
    version: str | None = None  # the release a short form (`<gateway>==<version>`) names


class ReleaseRules(Protocol):
    """What reading a target spec asks of a gateway (`harness.gateways.base.Gateway` provides it)."""

    name: str
    #: dependency modes a local target may ask for after `@` (`today` first)
    deps_modes: tuple[str, ...]
    #: a release to name in examples (`e.g. <name>==<example_version>`)
    example_version: str

    def parse_version(self, text: str, spec: str) -> str:
        """The exact version `text` names; `ReleaseError` (with `spec` in it) when it names none or a refused one."""
        ...

    def refuse_for_local(self, version: str) -> None:
        """`ReleaseError` for a release the local launcher cannot run (no network needed)."""
        ...

    def parse_image(self, text: str) -> ParsedImage:
        """Read what follows `docker:`; `TargetError` for a malformed or refused reference."""
        ...

    def check_release(self, spec: TargetSpec, cache_root: Path) -> CheckedTarget:
        """Judge a parsed spec before anything installs (published? what does `latest` mean?)."""
        ...


class Gateways(Protocol):
    """The gateways a spec may name (`harness.gateways.registry` is the real one)."""

    def names(self) -> tuple[str, ...]: ...

    def default_name(self) -> str: ...

    def gateway(self, name: str) -> ReleaseRules: ...


def split_deps(spec: str, modes: Sequence[str]) -> tuple[str, str]:
    """`…==1.95.0@as-released` → (`…==1.95.0`, `as-released`); no suffix means `today`.

    `modes` are the dependency modes that exist. An unknown mode is an error, except after an
    image reference or a URL, where an `@` belongs to the reference.
    """
    text = spec.strip()
    base, mode = split_deps_suffix(text)
    if mode is None:
        return text, DEPS_TODAY
    if mode not in modes and target_kind_of(text) in (DOCKER, URL):
        return text, DEPS_TODAY  # an `@` of an image reference or a URL, not a dependency mode
    if mode not in modes:
        raise ReleaseError(
            f"target spec {spec!r}: unknown dependency mode {mode!r} after '@' (use {' or '.join(modes)})"
        )
    return base, mode


def with_deps(spec: str, deps: str, modes: Sequence[str]) -> str:
    """The spec asking for `deps`: `today` leaves it as written, another mode adds `@<mode>`."""
    if deps not in modes:
        raise ReleaseError(f"unknown dependency mode {deps!r} (use {' or '.join(modes)})")
    base, current = split_deps(spec, modes)
    if current != DEPS_TODAY and current != deps:
        raise ReleaseError(f"target spec {spec!r} already asks for dependencies {current}, not {deps}")
    return base if deps == DEPS_TODAY else f"{base}{DEPS_SEPARATOR}{deps}"


def split_release(text: str, names: Sequence[str], default: str, example: str) -> tuple[str, str]:
    """(gateway, version text, LATEST or NEWEST) of a local spec's body, from its syntax alone.

    `<gateway>==<version>`, `<gateway>==latest`, `<gateway>==newest`, `<gateway>`, `latest` and
    `newest` name a gateway (a bare `latest`, `newest` or version: `default`). `ReleaseError` for
    a name no gateway has and for a range; `example` (`<gateway>==<version>`) shows what to
    write instead.
    """
    stripped = text.strip()
    lowered = stripped.lower()
    if lowered in MOVING_VERSIONS:
        return default, lowered
    if lowered in names:
        return lowered, LATEST
    if "==" in stripped:
        name, _, rest = stripped.partition("==")
        name = name.strip()
        if name.lower() not in names:
            verb = "is" if len(names) == 1 else "are"
            raise ReleaseError(f"target spec {text!r}: only {' or '.join(names)} {verb} supported, got {name!r}")
        rest = rest.strip()
        return name.lower(), rest.lower() if rest.lower() in MOVING_VERSIONS else rest
    if any(character in stripped for character in _RANGE_CHARACTERS):
        raise ReleaseError(f"target spec {text!r}: give one exact version (e.g. {example}) or 'latest', not a range")
    return default, stripped


def gateway_name_of(spec: str, names: Sequence[str], default: str) -> str:
    """Which gateway a spec is for, from its syntax alone (nothing judged): `default` unless it names one."""
    text, _mode = split_deps_suffix(spec)
    kind = target_kind_of(text)
    if kind == DOCKER:
        return _named_gateway(text[len(DOCKER_PREFIX):], names) or default
    if kind == URL:
        return default
    body = text.removeprefix(LOCAL_PREFIX).strip()
    if body.lower() in names:
        return body.lower()
    return _named_gateway(body, names) or default


def _named_gateway(text: str, names: Sequence[str]) -> str | None:
    """`<gateway>` of `<gateway>==…` when it is one of `names`."""
    head, sep, _rest = text.strip().partition("==")
    name = head.strip().lower()
    return name if sep and name in names else None


def parse_target_spec(spec: str, gateways: Gateways) -> TargetSpec:
    """Parse a `--target` value without any network; `TargetError` for one that can never start.

    Refuses malformed specs, releases the gateway refuses (compromised ones, also in image
    references), dependency modes the gateway does not have or that are not for its local
    target, a url that is not an http(s) base URL, and releases the local launcher cannot run.
    Only the gateway the spec names is loaded (every gateway, for an `@` after an image).
    """
    names, default = gateways.names(), gateways.default_name()
    text, mode = split_deps_suffix(spec)
    kind = target_kind_of(text)
    if kind != LOCAL:
        if mode is not None and mode in all_deps_modes(gateways):
            if mode != DEPS_TODAY:
                raise TargetError(f"dependencies {mode} are for the local target only "
                                  "(an image or a URL brings its own)")
        else:
            text = spec.strip()  # an `@` of an image reference or a URL, not a dependency mode
    if kind == URL:
        from harness.targets.attach import normalise_url

        return TargetSpec(URL, default, None, url=normalise_url(text.removeprefix(URL_PREFIX)))
    if kind == DOCKER:
        reference = text[len(DOCKER_PREFIX):]
        name = _named_gateway(reference, names) or default
        image = gateways.gateway(name).parse_image(reference)
        return TargetSpec(DOCKER, name, image.version, image=image.text, default_gateway=name == default)
    body = text.removeprefix(LOCAL_PREFIX)
    example = f"{default}=={gateways.gateway(default).example_version}"
    name, version_text = split_release(body, names, default, example)
    gateway = gateways.gateway(name)
    deps = mode or DEPS_TODAY
    if deps not in gateway.deps_modes:
        raise ReleaseError(f"target spec {spec!r}: unknown dependency mode {deps!r} after '@' "
                           f"(use {' or '.join(gateway.deps_modes)})")
    version = version_text if version_text in MOVING_VERSIONS else gateway.parse_version(version_text, body)
    if version not in MOVING_VERSIONS:
        gateway.refuse_for_local(version)
    return TargetSpec(LOCAL, name, version, deps, default_gateway=name == default)


def all_deps_modes(gateways: Gateways) -> tuple[str, ...]:
    """Every dependency mode an installed gateway has (what an `@` after an image may wrongly ask for)."""
    return tuple(dict.fromkeys(mode for name in gateways.names() for mode in gateways.gateway(name).deps_modes))


def check_target(spec: str, gateways: Gateways, cache_root: Path | None = None,
                 attach: "AttachOptions | None" = None) -> CheckedTarget:
    """Judge `spec` before anything installs: `CheckedTarget`, or `TargetError` saying why not and what instead.

    The gateway writes nothing but its cached release list (and `latest`'s cached answer) in
    `cache_root` (default: the user cache), so a refused spec leaves nothing behind. A url
    target is judged without the network: its URL, and its master key present (`attach`: what
    the command line says about attaching, `harness.targets.attach`).
    """
    from harness.common.cache_root import default_cache_root

    parsed = parse_target_spec(spec, gateways)
    if parsed.kind == URL:  # a running proxy: no release to judge, but what attaching needs must be there
        from harness.targets.attach import evidence_note, resolve_attachment

        assert parsed.url is not None
        note = evidence_note(resolve_attachment(parsed.url, attach))
        return CheckedTarget(parsed.normalised, (note,) if note else ())
    return gateways.gateway(parsed.gateway).check_release(parsed, cache_root or default_cache_root())

