"""LiteLLM as a `harness.gateways.base.Gateway`: the one object the harness knows LiteLLM by.

Registered under the entry point group `gateconform.gateways` as `litellm` (pyproject.toml).
Each method imports the module that does the work when it is called, so finding the gateway
and reading its vocabulary (every `gateconform validate`) costs no HTTP client, Docker SDK or
environment code.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, Sequence

from harness.gateways.base import Gateway, Log
from harness.gateways.litellm.catalogue import LiteLLMReleases
from harness.gateways.litellm.proxy_settings import object_cache_ttl_s, row_removal
from harness.gateways.litellm.refusals import REFUSALS
from harness.gateways.litellm.semantics import LiteLLMSemantics
from harness.gateways.litellm.releases import (
    DEPS_MODES,
    EXAMPLE_VERSION,
    PACKAGE,
    parse_version,
    parse_version_spec,
)
from harness.gateways.litellm.vocabulary import TITLE, VOCABULARY
from harness.model.target import DOCKER, LOCAL, URL, TargetSpec
from harness.targets.errors import ReleaseError
from harness.targets.spec import CheckedTarget, ParsedImage

if TYPE_CHECKING:
    import httpx

    from harness.common.redact import Redactor
    from harness.gateways.litellm.admin import LiteLLMAdapter
    from harness.model.proxy import ProxySettings
    from harness.model.scenario import ModelSpec
    from harness.targets.attach import AttachOptions
    from harness.targets.base import Endpoint, Target
    from harness.targets.reaping import BuildSweeper

#: The release run when no target is named: a current one that installs as published, run
#: locally (embedded PostgreSQL, no Docker).
DEFAULT_VERSION = "1.108.7"
#: LiteLLM's cheapest sign of life: answered by the proxy's event loop without auth or database
#: (the route exists under this historical name in every release the harness runs).
LIVENESS_PATH = "/health/liveliness"


class LiteLLMGateway(Gateway):
    """LiteLLM's proxy: its admin API, special names, refusals, releases from PyPI, launchers."""

    name = PACKAGE
    title = TITLE
    default_target = f"{PACKAGE}=={DEFAULT_VERSION}"
    example_version = EXAMPLE_VERSION
    vocabulary = VOCABULARY
    refusals = REFUSALS
    liveness_path = LIVENESS_PATH
    deps_modes = DEPS_MODES
    semantics = LiteLLMSemantics()

    def __init__(self) -> None:
        self._releases = LiteLLMReleases()
        self.environments = LiteLLMEnvironments()
        self.images = LiteLLMImages()

    # -- admin client, proxy config, readiness

    def admin(self, endpoint: Endpoint, redactor: Redactor, log: Log | None = None, *,
              transport: httpx.BaseTransport | None = None) -> LiteLLMAdapter:
        from harness.gateways.litellm.admin import LiteLLMAdapter

        return LiteLLMAdapter(endpoint, redactor, log, transport=transport)

    def proxy_config(self, models: Sequence[ModelSpec], upstream_url: str,
                     settings: ProxySettings | None = None) -> str:
        from harness.gateways.litellm.proxy_config import render_proxy_config

        return render_proxy_config(models, upstream_url, settings=settings)

    def cache_ttl_s(self, settings: ProxySettings) -> float | None:
        return object_cache_ttl_s(settings)

    def row_removal(self, kind: str, entity_id: str) -> str | None:
        return row_removal(kind, entity_id)

    def readiness(self, client: httpx.Client, base_url: str) -> tuple[bool, str]:
        from harness.gateways.litellm.readiness import probe_readiness

        return probe_readiness(client, base_url)

    # -- releases

    def parse_version(self, text: str, spec: str) -> str:
        return parse_version(text, spec)

    def refuse_for_local(self, version: str) -> None:
        """Nothing to refuse: every listed release runs locally (a release without SQL migrations
        gets its database from its own schema.prisma, `database_schema.py`)."""

    def parse_image(self, text: str) -> ParsedImage:
        from harness.gateways.litellm.images import parse_image_ref  # no docker SDK: it parses text only

        ref = parse_image_ref(text)
        return ParsedImage(ref.text, ref.version if ref.short_form else None)

    def check_release(self, spec: TargetSpec, cache_root: Path) -> CheckedTarget:
        from harness.gateways.litellm.target_check import check_release

        return check_release(spec, cache_root)

    @property
    def releases(self) -> LiteLLMReleases:
        return self._releases

    # -- launchers

    def launch(self, spec: TargetSpec, log: Log, *, attach: AttachOptions | None = None) -> Target:
        if spec.kind == DOCKER:
            from harness.gateways.litellm.docker_target import DockerTarget  # the docker SDK only when asked for

            return DockerTarget(spec.image or "", log=log)
        if spec.kind == URL:
            from harness.gateways.litellm.attached import AttachedProxy
            from harness.targets.attach import resolve_attachment

            return AttachedProxy(resolve_attachment(spec.url or "", attach), log, LIVENESS_PATH)
        from harness.gateways.litellm.local import LocalTarget  # heavy imports only when a proxy is needed

        return LocalTarget(f"{PACKAGE}=={spec.version}", log=log, deps=spec.deps)

    def launch_kept(self, spec: TargetSpec, log: Log) -> Target:
        from harness.gateways.litellm.local import LocalTarget

        if spec.kind != LOCAL:
            raise ReleaseError(f"gateconform up keeps a local proxy: {PACKAGE}==VERSION, not {spec.normalised}")
        return LocalTarget(f"{PACKAGE}=={spec.version}", log=log, deps=spec.deps, models_in_database=True)

    def prepare_local(self, version: str, deps: str, cache_root: Path) -> bool:
        """Build the environment (and the wasm engine) `version` runs from, unless it is built."""
        from harness.gateways.litellm.environment_build import ensure_environment
        from harness.gateways.litellm.environments import find_complete_environment
        from harness.gateways.litellm.wasm_engine import ensure_wasm_engine

        if find_complete_environment(cache_root, version, deps) is not None:
            return False
        engine = ensure_wasm_engine(cache_root)
        ensure_environment(version, cache_root, engine.env(), deps=deps)
        return True

    def build_sweepers(self) -> Sequence[BuildSweeper]:
        from harness.gateways.litellm.local import LITELLM_BUILD_SWEEPERS

        return LITELLM_BUILD_SWEEPERS


class LiteLLMEnvironments:
    """The local launcher's per-release environments (`gateconform cache list|prune`)."""

    def list(self, cache_root: Path) -> list[Any]:
        from harness.gateways.litellm.cache import list_environments

        return list_environments(cache_root)

    def select_for_pruning(self, environments: Sequence[Any], *, older_than_s: float | None, versions: Sequence[str],
                           stale: bool, everything: bool) -> list[tuple[Any, str]]:
        from harness.gateways.litellm.cache import select_for_pruning

        return select_for_pruning(environments, older_than_s=older_than_s, versions=versions, stale=stale,
                                  everything=everything)

    def prune(self, chosen: Sequence[tuple[Any, str]], dry_run: bool = False) -> list[Any]:
        from harness.gateways.litellm.cache import prune

        return prune(chosen, dry_run=dry_run)


_POSTGRES = ("postgres", "postgresql")


class LiteLLMImages:
    """Images of LiteLLM releases built from PyPI, and the PostgreSQL image the Docker target uses."""

    summary = f"Docker images of {TITLE} releases built from PyPI (for --target docker:{PACKAGE}==VERSION)."
    build_help = (f"Build gateconform/{PACKAGE}:VERSION ({TITLE} from PyPI + the wasm Prisma engine) "
                  "or gateconform/postgres:15.")
    item_help = f"{PACKAGE}==VERSION (e.g. {PACKAGE}=={EXAMPLE_VERSION}) and/or postgres"
    item_metavar = f"{PACKAGE}==VERSION|postgres"

    def check_build_item(self, item: str) -> None:
        if item.strip().lower() not in _POSTGRES:
            parse_version_spec(item)

    def build(self, client: Any, item: str, *, base: str | None, force: bool, log: Log) -> Any:
        from harness.gateways.litellm.image_build import build_litellm_image, build_postgres_image

        if item.strip().lower() in _POSTGRES:
            return build_postgres_image(client, base=base, force=force, log=log)
        return build_litellm_image(client, item, base=base, force=force, log=log)

    def built_images(self, client: Any) -> list[Any]:
        from harness.gateways.litellm.image_build import gateconform_images

        return gateconform_images(client)

    def describe(self, images: Sequence[Any]) -> list[str]:
        from harness.gateways.litellm.image_build import describe

        return describe(images)


LITELLM = LiteLLMGateway()
#: What `harness.gateways.registry` loads from a bundled gateway's `gateway` module.
GATEWAY = LITELLM
