"""A target spec as data: what `--target` names, and the text forms every layer reads.

The grammar is gateway-neutral: `[local:|docker:|url:]<gateway>==<version>[@<deps>]`, a bare
`<version>` or `latest` (the default gateway), `<gateway>` alone (its latest release), and after
`docker:` an image reference. Parsing user input into a `TargetSpec`, with the gateway's help for
what a version may be, happens in `harness.targets.spec`; this module holds only the data and
the syntax a results document needs (which kind of target, which dependency mode), so it stays
pure.
"""

from __future__ import annotations

from dataclasses import dataclass

LOCAL, DOCKER, URL = "local", "docker", "url"
LOCAL_PREFIX = "local:"
DOCKER_PREFIX = "docker:"
URL_PREFIX = "url:"
URL_PREFIXES = (URL_PREFIX, "http://", "https://")
#: The newest release of a gateway that can run; what a bare `latest` asks for.
LATEST = "latest"
#: The newest release a gateway lists, even one that does not install as published (the gateway
#: then says what it installed instead); what a bare `newest` asks for.
NEWEST = "newest"
#: Words that name a release by where it stands, resolved when the target starts.
MOVING_VERSIONS = (LATEST, NEWEST)
#: The dependency mode a spec without an `@<deps>` suffix means: what installing it today gives.
DEPS_TODAY = "today"
#: Separates a spec from its dependency mode (`…==1.95.0@as-released`).
DEPS_SEPARATOR = "@"


@dataclass(frozen=True)
class TargetSpec:
    """A parsed `--target` value (nothing looked up yet)."""

    kind: str  # LOCAL, DOCKER or URL
    gateway: str  # the gateway's registry name
    #: local: the exact version, LATEST or NEWEST; docker: the version a short form names, else None
    version: str | None
    deps: str = DEPS_TODAY
    #: docker: what follows `docker:`, as the gateway writes it
    image: str | None = None
    #: whether `gateway` is the default one: then `latest` is written without naming it
    default_gateway: bool = True
    #: url: the running proxy's base URL (`http://host:4000`, no trailing slash)
    url: str | None = None

    @property
    def normalised(self) -> str:
        """The spec written one way: `<gateway>==1.82.3`, `latest`, `…@as-released`, `docker:…`, `url:…`."""
        if self.kind == DOCKER:
            return f"{DOCKER_PREFIX}{self.image}"
        if self.kind == URL:
            return f"{URL_PREFIX}{self.url}"
        if self.version in MOVING_VERSIONS:
            base = self.version if self.default_gateway else f"{self.gateway}=={self.version}"
        else:
            base = f"{self.gateway}=={self.version}"
        return base if self.deps == DEPS_TODAY else f"{base}{DEPS_SEPARATOR}{self.deps}"


def target_kind_of(spec: str) -> str:
    """The kind of target a `--target` value names: `docker`, `url` or `local`."""
    text = spec.strip()
    if text.startswith(DOCKER_PREFIX):
        return DOCKER
    if text.startswith(URL_PREFIXES):
        return URL
    return LOCAL


def split_deps_suffix(spec: str) -> tuple[str, str | None]:
    """`…==1.95.0@as-released` → (`…==1.95.0`, `as-released`); (spec, None) without a suffix.

    Syntax only: an `@` followed by `:` or `/` belongs to an image digest (`image@sha256:…`)
    or a URL, not to a dependency mode. Whether the mode exists is the gateway's to say.
    """
    text = spec.strip()
    base, sep, mode = text.rpartition(DEPS_SEPARATOR)
    if not sep or ":" in mode or "/" in mode:
        return text, None
    return base.strip(), mode.strip().lower()


def deps_of(spec: str) -> str | None:
    """A local target's dependency mode (`today`, or the mode after `@`), else None."""
    if target_kind_of(spec) != LOCAL:
        return None
    _base, mode = split_deps_suffix(spec)
    return mode or DEPS_TODAY
