"""One PostgreSQL server per process, shared by every local target it starts.

A server of its own cost each proxy start 2–3 s (start the server, migrate its template); a
database copied from a migrated template costs a tenth of a second. So the targets of a process
share one server and each gets a fresh database of its own, copied from the template of its
release's migrations and dropped when it stops: no two proxies ever share a database.

The server is started on first use, stopped at interpreter exit and on SIGTERM/SIGHUP (it is
registered like a live target), and carries a run marker of its own (`pg-<hex>`) owned by this
process, with an owner file in its folder: a killed owner's server is reaped like any other.
"""

from __future__ import annotations

import secrets
import threading

from harness.common.log import Log, quiet
from harness.targets.lifecycle import current_owner, marker_env, register_live_target, write_owner_file
from harness.targets.postgres import PostgresServer

#: Run ids of shared servers start with this.
SHARED_RUN_PREFIX = "pg-"


class SharedPostgres:
    """The process's PostgreSQL server (see the module doc); `SHARED_POSTGRES` is the one to use."""

    def __init__(self) -> None:
        self._server: PostgresServer | None = None
        self._lock = threading.Lock()

    def server(self, log: Log = quiet) -> PostgresServer:
        """The running server, started now if there is none (or it died); `log` hears its start."""
        with self._lock:
            if self._server is not None and self._server.running:
                return self._server
            if self._server is not None:
                self._server.stop()  # it died: clear what is left of it before a new one
            run_id = f"{SHARED_RUN_PREFIX}{secrets.token_hex(6)}"
            owner = current_owner()
            # Its start is told to whoever asked first; what it does later for other targets is not.
            server = PostgresServer(log=log, extra_env=marker_env(run_id, owner), name=run_id)
            register_live_target(self)
            try:
                server.start()
            finally:
                server.log = quiet
            if server.run_dir is not None:
                write_owner_file(server.run_dir, owner)
            self._server = server
            return server

    def stop(self) -> None:
        """Stop the server (every database on it goes with it). Idempotent."""
        with self._lock:
            server, self._server = self._server, None
        if server is not None:
            server.stop()


#: This process's shared server.
SHARED_POSTGRES = SharedPostgres()
