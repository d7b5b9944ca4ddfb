"""Attaching to a proxy that is already running (the `url` target): what it needs besides the URL.

- The master key, from the environment variable `GATECONFORM_MASTER_KEY`: never from the
  command line (it would sit in the shell history and in `ps`), never written to a report.
- Optionally a recording upstream (`gateconform upstream serve`) that the proxy's test models
  point at: `GATECONFORM_UPSTREAM_URL` (or `run --upstream`). With one, "allowed" and "denied"
  rest on what reached the provider, as on a local target; without one they rest on the proxy's
  answer alone, and every report says so (`EVIDENCE_RESPONSE_ONLY`).
- Whether missing models may be added to the proxy for the run and removed after
  (`GATECONFORM_ADD_MODELS=1` or `run --add-models`): only where the proxy stores models in its
  database, and only with a recording upstream for them to point at.

A proxy kept up by `gateconform up` brings all three itself (its state file, `up_state`): its
master key, its upstream, and adding models is allowed (the proxy is ours).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Mapping
from urllib.parse import urlsplit

from harness.targets import up_state
from harness.targets.errors import TargetError

#: Where the url target reads the proxy's master key (never a command-line argument).
MASTER_KEY_ENV = "GATECONFORM_MASTER_KEY"
#: Where the recording upstream the proxy's test models point at can be read (`upstream serve`).
UPSTREAM_ENV = "GATECONFORM_UPSTREAM_URL"
#: `1`: missing models may be added to the proxy's database for the run (and removed after).
ADD_MODELS_ENV = "GATECONFORM_ADD_MODELS"
_TRUE = ("1", "true", "yes", "on")


@dataclass(frozen=True)
class AttachOptions:
    """What the command line says about attaching (None: ask the environment). Never the key."""

    upstream_url: str | None = None
    add_models: bool | None = None


@dataclass(frozen=True)
class Attachment:
    """Everything needed to run scenarios on a running proxy."""

    base_url: str
    master_key: str = field(repr=False)
    #: where the recording upstream is read (and where added models point); None: there is none
    upstream_url: str | None = None
    add_models: bool = False
    #: the proxy is one `gateconform up` keeps (its state file said the rest): models added to it
    #: stay for the next run (the proxy is ours, and `down` removes everything)
    managed: bool = False
    #: the version the proxy runs, when known without asking it (a kept proxy's state says)
    proxy_version: str | None = None

    @property
    def upstream_observed(self) -> bool:
        """Whether verdicts can rest on what reached the provider, not on the answer alone."""
        return self.upstream_url is not None


def normalise_url(text: str) -> str:
    """`http://host:4000` written one way (no trailing slash); `TargetError` for anything else."""
    url = text.strip().rstrip("/")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise TargetError(f"{text!r} is not an http(s) URL of a proxy, e.g. url:http://127.0.0.1:4000")
    if parts.username or parts.password:
        raise TargetError(f"the proxy URL must not carry credentials (the master key comes from ${MASTER_KEY_ENV})")
    if parts.query or parts.fragment:
        raise TargetError(f"{text!r}: give the proxy's base URL, without a query or fragment")
    return url


def resolve_attachment(url: str, options: AttachOptions | None = None,
                       environ: Mapping[str, str] | None = None) -> Attachment:
    """The attachment to `url`: from the command line, the environment and a `gateconform up` state file.

    `TargetError` (nothing started, nothing asked of the network) when there is no master key,
    or models may be added but there is no upstream for them to point at.
    """
    environ = os.environ if environ is None else environ
    options = options or AttachOptions()
    base_url = normalise_url(url)
    kept = up_state.find(base_url, environ)
    master_key = environ.get(MASTER_KEY_ENV, "").strip() or (kept.master_key if kept else "")
    if not master_key:
        raise TargetError(f"no master key for {base_url}: set the environment variable {MASTER_KEY_ENV} "
                          "(it is never taken from the command line)")
    upstream = options.upstream_url or environ.get(UPSTREAM_ENV, "").strip() or (kept.upstream_url if kept else None)
    if upstream:
        upstream = normalise_url(upstream)
    add_models = options.add_models
    if add_models is None:
        add_models = environ.get(ADD_MODELS_ENV, "").strip().lower() in _TRUE or kept is not None
    if add_models and not upstream:
        raise TargetError(f"adding models to {base_url} needs a recording upstream for them to point at: "
                          f"run `gateconform upstream serve` where the proxy can reach it and set {UPSTREAM_ENV}")
    return Attachment(base_url, master_key, upstream, add_models, managed=kept is not None,
                      proxy_version=kept.proxy_version if kept else None)


def evidence_note(attachment: Attachment) -> str | None:
    """What the user should read before a run without a recording upstream (None: full evidence)."""
    if attachment.upstream_observed:
        return None
    return (f"no recording upstream behind {attachment.base_url}: 'allowed' and 'denied' rest on the proxy's "
            "answers alone (weaker evidence, said in every report); for full evidence point the proxy's test "
            f"models at `gateconform upstream serve` and set {UPSTREAM_ENV}")
