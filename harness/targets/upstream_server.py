"""The fake upstream's server: an OpenAI-compatible provider that records every request it gets.

Every model the proxy serves points at this server (`api_base=<url>/v1`). Whether a call
reached it is the harness's ground truth for "the proxy let the request through", so each
request is recorded *before* the response is written: by the time the proxy (and then the
probe) sees an answer, the hit is already visible through `hits(marker)`.

Probes tag their requests with a marker (`[gateconform-probe:<id>]` in the message text, or
the `x-gateconform-probe` header) so that hits can be attributed to one probe even when many
run at once.

What it answers is `upstream_answers`' (every API shape the probe kinds need; an unknown route
gets `501 Not Implemented`, which a gateway passes on as a server error: an ERROR verdict, never a
denial). Both modules are stdlib-only and import nothing else of the harness, so they also run on
their own inside a container (the Docker target copies both): `python3 upstream_server.py --host
0.0.0.0 --port 8080 --model gpt-4o`. A hit is recorded as its JSON form (`{model, path, marker, received_at}`), the form the
control endpoints under `/__gateconform/` (never recorded as hits) serve; the harness's side,
`harness.targets.upstream`, turns records into `UpstreamHit`s, in process or across the network.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import re
import signal
import socket
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Iterable
from urllib.parse import parse_qs, quote, unquote, urlsplit

try:
    from harness.targets import upstream_answers as answers
except ImportError:  # run alone in a container, next to its copy of upstream_answers.py
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))  # also under `python -I`
    import upstream_answers as answers  # type: ignore[no-redef]

MARKER_HEADER = "x-gateconform-probe"
# Markers are restricted to characters that survive JSON encoding unchanged, so the marker
# can be found in the raw request body without parsing the (provider-specific) message shape.
MARKER_PATTERN = re.compile(r"\[gateconform-probe:([A-Za-z0-9._\-]{1,128})\]")
_MARKER_VALUE = re.compile(r"[A-Za-z0-9._\-]{1,128}")

#: A deployment's base URL is `<url>/gc-deployment/<id>` (its id percent-encoded): a request
#: under it is recorded with that `deployment` and then served as if the prefix were not there.
DEPLOYMENT_PREFIX = "/gc-deployment/"

#: Paths under this prefix are the harness's control endpoints, not provider calls: they are
#: never recorded. `GET <prefix>health`, `GET <prefix>hits[?marker=M]`, `DELETE <prefix>hits`.
CONTROL_PREFIX = "/__gateconform/"

#: A recorded request in its JSON form: {"model": str | None, "path": str, "marker": str | None,
#: "received_at": float (time.time() when it was read)}, plus "deployment": str when the request
#: came through a deployment's base URL (absent otherwise: the key is optional).
Record = dict[str, Any]


def marker_text(marker: str) -> str:
    """The text a probe embeds in its request so the upstream can attribute the hit."""
    if not _MARKER_VALUE.fullmatch(marker):
        raise ValueError(f"invalid probe marker {marker!r}: use 1-128 of [A-Za-z0-9._-]")
    return f"[gateconform-probe:{marker}]"


def deployment_base(url: str, deployment: str) -> str:
    """`<url>/gc-deployment/<id>`: the base URL under which calls are recorded for `deployment`."""
    return f"{url.rstrip('/')}{DEPLOYMENT_PREFIX}{quote(deployment, safe='')}"


def split_deployment(path: str) -> tuple[str | None, str]:
    """(deployment, the path without its deployment prefix); (None, path) outside one."""
    if not path.startswith(DEPLOYMENT_PREFIX):
        return None, path
    encoded, _, rest = path[len(DEPLOYMENT_PREFIX):].partition("/")
    return unquote(encoded) or None, "/" + rest


def find_marker(text: str) -> str | None:
    """The first probe marker in `text`, or None."""
    match = MARKER_PATTERN.search(text)
    return match.group(1) if match else None


class _Server(ThreadingHTTPServer):
    """Threaded server that remembers its open connections so `stop()` can close them."""

    daemon_threads = True
    allow_reuse_address = True
    # The default backlog (5) drops connections when a proxy fans out many calls at once.
    request_queue_size = 256

    def __init__(self, address: tuple[str, int], upstream: UpstreamServer) -> None:
        self.upstream = upstream
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()
        super().__init__(address, _Handler)

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._connections_lock:
            self._connections.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self._connections_lock:
            self._connections.discard(request)
        super().shutdown_request(request)

    def close_connections(self) -> None:
        """Close keep-alive connections so no handler thread outlives `stop()`."""
        with self._connections_lock:
            connections = list(self._connections)
        for conn in connections:
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass  # already closed by the peer


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive: LiteLLM reuses connections
    # Headers and body go out in separate writes; with Nagle on, a keep-alive client's
    # delayed ACK stalls every response by ~40 ms.
    disable_nagle_algorithm = True
    server: _Server
    _deployment: str | None = None  # of the request being served (`split_deployment`)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        pass  # the recorded hits are the log; stderr noise would only hide test output

    # -- routing -------------------------------------------------------------------------

    def do_GET(self) -> None:
        self._serve("GET")

    def do_POST(self) -> None:
        self._serve("POST")

    def do_DELETE(self) -> None:
        self._serve("DELETE")

    def _serve(self, method: str) -> None:
        self._deployment, path = split_deployment(self._path())
        raw = b"" if method == "GET" else self._read_body()  # read even when unused: keep-alive
        if path.startswith(CONTROL_PREFIX):
            self._control(method, path)
        elif method == "GET":
            self._record(path, body={}, raw=b"")
            if answers.route_of(path) == "/models":
                self._send_json(200, self.server.upstream._models_document())
            else:
                self._send_unknown("GET", path)
        elif method == "POST":
            self._provider_call(path, raw)
        else:
            self._send_error(404, f"unknown path {path}", "not_found_error")

    def _provider_call(self, path: str, raw: bytes) -> None:
        body = answers.parse_body(raw, self.headers.get("Content-Type", ""))
        self._record(path, body=body if body is not None else {}, raw=raw)
        if body is None:
            self._send_error(400, "request body is not a JSON object", "invalid_request_error")
            return
        route = answers.route_of(path)
        if route == "/chat/completions" and body.get("stream"):
            self._send_chat_stream(body)
            return
        found = answers.answer(route, body, self.server.upstream._next_id())
        if found is None:
            self._send_unknown("POST", path)
            return
        status, document, content_type = found
        if content_type == answers.JSON:
            self._send_json(status, document)
        else:
            self._send_bytes(status, document, content_type)

    def _control(self, method: str, path: str) -> None:
        """The harness's own endpoints (see CONTROL_PREFIX); they are not provider traffic."""
        upstream = self.server.upstream
        name = path[len(CONTROL_PREFIX):].strip("/")
        if method == "GET" and name == "health":
            self._send_json(200, {"status": "ok", "hits": len(upstream.all_records())})
        elif method == "GET" and name == "hits":
            query = parse_qs(urlsplit(self.path).query)
            markers = query.get("marker")
            hits = upstream.records(markers[0]) if markers else upstream.all_records()
            self._send_json(200, {"hits": hits})
        elif method == "DELETE" and name == "hits":
            upstream.reset()
            self._send_json(200, {"hits": []})
        else:
            self._send_error(404, f"unknown control endpoint {method} {path}", "not_found_error")

    # -- request helpers -----------------------------------------------------------------

    def _path(self) -> str:
        return self.path.split("?", 1)[0]

    def _read_body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            return self._read_chunked()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length > 0 else b""

    def _read_chunked(self) -> bytes:
        chunks = []
        while True:
            size = int(self.rfile.readline().split(b";", 1)[0].strip() or b"0", 16)
            if size == 0:
                # trailer section ends with an empty line
                while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                    pass
                return b"".join(chunks)
            chunks.append(self.rfile.read(size))
            self.rfile.readline()  # CRLF after each chunk

    def _record(self, path: str, body: dict[str, Any], raw: bytes) -> None:
        marker = find_marker(raw.decode("utf-8", errors="replace"))
        if marker is None:
            header = self.headers.get(MARKER_HEADER)
            if header and _MARKER_VALUE.fullmatch(header.strip()):
                marker = header.strip()
        model = answers.model_of(body)
        record: Record = {
            "model": model if isinstance(model, str) else None,
            "path": path,
            "marker": marker,
            "received_at": time.time(),
        }
        if self._deployment is not None:
            record["deployment"] = self._deployment
        self.server.upstream._record(record)

    # -- response helpers ----------------------------------------------------------------

    def _send_json(self, status: int, document: dict[str, Any]) -> None:
        payload = json.dumps(document).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def _send_bytes(self, status: int, payload: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def _send_unknown(self, method: str, path: str) -> None:
        """A route this fake does not speak: 501, so a gateway passes on a server error (ERROR, never denied)."""
        self._send_error(501, f"gateconform upstream: no fake for {method} {path}", "not_implemented")

    def _send_error(self, status: int, message: str, error_type: str) -> None:
        self._send_json(
            status, {"error": {"message": message, "type": error_type, "param": None, "code": None}}
        )

    def _send_chat_stream(self, body: dict[str, Any]) -> None:
        # No Content-Length for a stream: close the connection to mark its end.
        self.close_connection = True
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Connection", "close")
        self.end_headers()
        for chunk in answers.chat_chunks(body, self.server.upstream._next_id()):
            self.wfile.write(b"data: " + json.dumps(chunk).encode() + b"\n\n")
        self.wfile.write(b"data: [DONE]\n\n")
        self.wfile.flush()


class UpstreamServer:
    """A fake OpenAI-compatible provider on `host` (127.0.0.1 by default), served in a thread.

    Use as a context manager or call `start()`/`stop()`. `models` only shapes the answer to
    `GET /v1/models`; chat and embedding calls are answered for any model name.
    """

    def __init__(self, models: Iterable[str] = (), host: str = "127.0.0.1", port: int = 0) -> None:
        self._models = list(models)
        self._host = host
        self._port = port
        self._hits: list[Record] = []
        self._lock = threading.Lock()
        self._ids = itertools.count(1)
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle -----------------------------------------------------------------------

    def start(self) -> UpstreamServer:
        """Bind a free port (unless one was given) and serve in a daemon thread."""
        if self._server is not None:
            return self
        self._server = _Server((self._host, self._port), self)
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.01},  # stop() waits up to one interval
            name=f"gateconform-upstream:{self._server.server_address[1]}",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving, close open connections and free the port. Safe to call twice."""
        server, thread = self._server, self._thread
        self._server, self._thread = None, None
        if server is None:
            return
        server.shutdown()
        server.close_connections()
        server.server_close()
        if thread is not None:
            thread.join(timeout=5)

    def __enter__(self) -> UpstreamServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def running(self) -> bool:
        return self._server is not None

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("upstream is not running")
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        """`http://127.0.0.1:PORT` (no trailing slash, no `/v1`)."""
        return f"http://{self._host}:{self.port}"

    @property
    def api_base(self) -> str:
        """What to configure as a model's `api_base`: `<url>/v1`."""
        return f"{self.url}/v1"

    # -- recorded hits -------------------------------------------------------------------

    def records(self, marker: str) -> list[Record]:
        """Requests attributed to probe `marker`, in arrival order."""
        with self._lock:
            return [hit for hit in self._hits if hit["marker"] == marker]

    def all_records(self) -> list[Record]:
        """Every request received since start (or the last `reset()`), in arrival order."""
        with self._lock:
            return list(self._hits)

    def reset(self) -> None:
        """Forget all recorded hits."""
        with self._lock:
            self._hits.clear()

    def _record(self, hit: Record) -> None:
        with self._lock:
            self._hits.append(hit)

    def _next_id(self) -> str:
        with self._lock:
            return f"chatcmpl-gateconform-{next(self._ids)}"

    def _models_document(self) -> dict[str, Any]:
        return {
            "object": "list",
            "data": [
                {"id": name, "object": "model", "created": 0, "owned_by": "gateconform"}
                for name in self._models
            ],
        }


def main(argv: list[str] | None = None) -> int:
    """Serve the fake upstream in the foreground until SIGTERM/SIGINT (used in containers)."""
    parser = argparse.ArgumentParser(description="gateconform's fake OpenAI-compatible upstream")
    parser.add_argument("--host", default="0.0.0.0")
    parser.add_argument("--port", type=int, default=8080)
    parser.add_argument("--model", action="append", default=[], help="a model listed by GET /v1/models")
    args = parser.parse_args(argv)
    stopped = threading.Event()

    def _stop(_signum: int, _frame: Any) -> None:
        stopped.set()

    # As a container's PID 1 the default action for SIGTERM is to ignore it: handle it.
    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    upstream = UpstreamServer(models=args.model, host=args.host, port=args.port).start()
    print(f"gateconform upstream listening on {args.host}:{upstream.port}", flush=True)
    try:
        while not stopped.wait(0.5):
            pass
    finally:
        upstream.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
