"""Runs *inside* a `gateconform image build`: prepares LiteLLM exactly as the local target does.

    python -m harness.gateways.litellm.wasm_engine /opt/gateconform/cache      (an earlier layer)
    python -m harness.gateways.litellm.image_setup --root /opt/gateconform --version 1.82.3

The first installs the wasm query engine (`wasm_engine.ensure_wasm_engine`); this module builds
the release's environment with the same recipe as the local target (`environment_build.
ensure_environment`: uv, the prisma requirement litellm declares, offline `prisma generate`),
then writes what the container's entrypoint needs at start:

- `<root>/runtime.env`: shell `export` lines (engine paths, Prisma home, PATH with the
  environment's `bin` first);
- `<root>/migrate.sql`: one psql script creating LiteLLM's schema as the local target does
  (`database_schema.py`: the migrations, recorded in `_prisma_migrations`, and/or the SQL Prisma's
  wasm schema engine gives for the release's schema.prisma), since Prisma's native engine cannot be had;
- `<root>/provenance.env`: what was installed other than the release as published (substitutions,
  one `GATECONFORM_SUBSTITUTION_<n>=…` line each), for the record.

Only light modules are imported here: the image carries a few harness files, not the harness.
"""

from __future__ import annotations

import argparse
import io
import shlex
import sys
import tarfile
import time
from pathlib import Path
from typing import Any

from harness.gateways.litellm.database_schema import database_schema, provenance_lines
from harness.gateways.litellm.environment_build import ensure_environment
from harness.gateways.litellm.environments import prisma_env
from harness.targets.postgres_migrations import schema_script
from harness.gateways.litellm.wasm_engine import ensure_wasm_engine

RUNTIME_ENV = "runtime.env"
MIGRATE_SQL = "migrate.sql"
PROVENANCE_ENV = "provenance.env"
#: PATH inside the image after the environment's own bin folder (node and npm live in /usr/local/bin).
SYSTEM_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


def _log(message: str) -> None:
    print(f"[image-setup] {message}", flush=True)


def setup_litellm(root: Path, version: str) -> None:
    started = time.monotonic()
    cache = root / "cache"
    engine = ensure_wasm_engine(cache, log=_log)
    environment = ensure_environment(version, cache, engine.env(), log=_log)
    runtime = prisma_env(cache, engine.env(), environment.bin_dir, base={"PATH": SYSTEM_PATH})
    runtime["GATECONFORM_LITELLM_VERSION"] = environment.litellm_version
    runtime["GATECONFORM_PRISMA_VERSION"] = environment.prisma_version
    lines = [f"export {name}={shlex.quote(value)}" for name, value in sorted(runtime.items())]
    (root / RUNTIME_ENV).write_text("\n".join(lines) + "\n")
    schema = database_schema(environment, cache, _log)
    (root / MIGRATE_SQL).write_text(schema_script(schema))
    substitutions, _dating = provenance_lines(environment, schema)
    lines = [f"GATECONFORM_SUBSTITUTION_{n}={shlex.quote(line)}" for n, line in enumerate(substitutions, start=1)]
    (root / PROVENANCE_ENV).write_text("".join(f"{line}\n" for line in lines))
    litellm = root / "bin" / "litellm"
    litellm.parent.mkdir(parents=True, exist_ok=True)
    if litellm.exists() or litellm.is_symlink():
        litellm.unlink()
    litellm.symlink_to(environment.litellm_executable)
    source = schema.description or f"{len(schema.migrations())} migrations"
    _log(f"litellm {version}: schema from {source}, environment {environment.root} "
         f"({time.monotonic() - started:.1f} s)")


def substitutions_in(container: Any) -> tuple[str, ...]:
    """What the image of a (created) container was built with in place of the release's pins: the
    provenance file `setup_litellm` wrote, one line each; none for an image built before it did."""
    try:
        stream, _stat = container.get_archive(f"/opt/gateconform/{PROVENANCE_ENV}")
        with tarfile.open(fileobj=io.BytesIO(b"".join(stream))) as archive:
            member = archive.extractfile(PROVENANCE_ENV)
            text = member.read().decode() if member is not None else ""
    except Exception:  # noqa: BLE001 - no file: nothing was substituted (or an older image)
        return ()
    lines = []
    for line in text.splitlines():
        _name, sep, value = line.partition("=")
        if sep:
            lines.append(" ".join(shlex.split(value)))
    return tuple(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, default=Path("/opt/gateconform"))
    parser.add_argument("--version", required=True, help="exact LiteLLM version, e.g. 1.82.3")
    args = parser.parse_args(argv)
    setup_litellm(args.root, args.version)
    return 0


if __name__ == "__main__":
    sys.exit(main())
