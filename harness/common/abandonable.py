"""HTTP clients whose outstanding requests can be ended at once, and a progress counter for them.

`ConnectionGuard` is the network backend of the clients doing a scenario's work (admin calls,
probes); `abandon(reason)` shuts down every connection they hold, so a request blocked on a
stopped proxy fails now with that reason instead of after its read timeout. The engine's watch
(`harness.engine.watch`) decides when; everything making requests only has to use the guard's
transport.
"""

from __future__ import annotations

import socket
import threading
import weakref
from typing import Any, Iterable

import httpcore
import httpx


class Tally:
    """A thread-safe `done of total` counter for progress lines ("12 of 40 probes answered")."""

    def __init__(self, noun: str, verb: str, total: int = 0) -> None:
        self.noun, self.verb, self.total, self.done = noun, verb, total, 0
        self._lock = threading.Lock()

    def add(self, count: int = 1) -> None:
        with self._lock:
            self.done += count

    def __str__(self) -> str:
        return f"{self.done} of {self.total} {self.noun} {self.verb}"


class _GuardedStream(httpcore.NetworkStream):
    """A connection the guard can shut down from another thread (also after TLS started)."""

    def __init__(self, stream: httpcore.NetworkStream) -> None:
        self._stream = stream

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._stream.read(max_bytes, timeout)

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._stream.write(buffer, timeout)

    def close(self) -> None:
        self._stream.close()

    def start_tls(self, ssl_context: Any, server_hostname: str | None = None,
                  timeout: float | None = None) -> httpcore.NetworkStream:
        self._stream = self._stream.start_tls(ssl_context, server_hostname, timeout)
        return self

    def get_extra_info(self, info: str) -> Any:
        return self._stream.get_extra_info(info)

    def shut_down(self) -> None:
        sock = self._stream.get_extra_info("socket")
        if sock is None:
            return
        try:
            # shutdown(), unlike close(), wakes a thread blocked reading this socket on Linux.
            sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass  # already closed


class ConnectionGuard(httpcore.NetworkBackend):
    """The network backend of the clients that do a scenario's work; `abandon()` ends them.

    Abandoning shuts down every open connection (a blocked read returns at once) and refuses
    new ones, so each outstanding request fails now; `reason` says why.
    """

    def __init__(self) -> None:
        self._inner = httpcore.SyncBackend()
        self._streams: weakref.WeakSet[_GuardedStream] = weakref.WeakSet()
        self._lock = threading.Lock()
        self.reason: str | None = None

    def transport(self, *, verify: bool, limits: httpx.Limits | None = None) -> httpx.BaseTransport:
        """An httpx transport whose connections this guard can abandon."""
        transport = httpx.HTTPTransport(verify=verify, limits=limits or httpx.Limits())
        pool = getattr(transport, "_pool", None)
        # httpx (0.28) offers no parameter for httpcore's network backend; its pool reads it from
        # this attribute. Should that ever change, abandoning still stops the waiting, only the
        # worker threads then end at their own timeouts (tests/unit/test_proxy_watch.py notices).
        if isinstance(getattr(pool, "_network_backend", None), httpcore.NetworkBackend):
            pool._network_backend = self  # type: ignore[union-attr]
        return transport

    def abandon(self, reason: str) -> None:
        """Fail every outstanding and future request of this guard's clients with `reason`."""
        with self._lock:
            if self.reason is None:
                self.reason = reason
            streams = list(self._streams)
        for stream in streams:
            stream.shut_down()

    def _admit(self, stream: httpcore.NetworkStream) -> httpcore.NetworkStream:
        guarded = _GuardedStream(stream)
        with self._lock:
            if self.reason is None:
                self._streams.add(guarded)
                return guarded
        stream.close()
        raise httpcore.ConnectError(self.reason)

    def _refuse_if_abandoned(self) -> None:
        if self.reason is not None:
            raise httpcore.ConnectError(self.reason)

    def connect_tcp(self, host: str, port: int, timeout: float | None = None,
                    local_address: str | None = None,
                    socket_options: Iterable[Any] | None = None) -> httpcore.NetworkStream:
        self._refuse_if_abandoned()
        return self._admit(self._inner.connect_tcp(host, port, timeout, local_address, socket_options))

    def connect_unix_socket(self, path: str, timeout: float | None = None,
                            socket_options: Iterable[Any] | None = None) -> httpcore.NetworkStream:
        self._refuse_if_abandoned()
        return self._admit(self._inner.connect_unix_socket(path, timeout, socket_options))

    def sleep(self, seconds: float) -> None:
        self._inner.sleep(seconds)
