"""A tiny threaded HTTP server for CRM sandboxes: real sockets on loopback, routes as regexes.

Each sandbox (HubSpot, Zendesk Sell) registers handlers that speak its CRM's documented API; this
module only parses requests and serves them, so the connectors are tested over real HTTP with
`requests`, exactly as in production. Standard library only, to keep the sandboxes dependency-free.
"""

from __future__ import annotations

import json
import re
import socket
import struct
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self
from urllib.parse import parse_qs, urlsplit


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes
    match: re.Match[str] | None = None

    def json(self) -> Any:
        return json.loads(self.body or b"null")

    def arg(self, name: str, default: str | None = None) -> str | None:
        values = self.query.get(name)
        return values[0] if values else default


@dataclass
class Response:
    status: int = 200
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    raw: bytes | None = None  # send these bytes as-is (for malformed-body faults)
    reset: bool = False  # answer nothing: close the connection with a TCP RST (connection-reset faults)


Handler = Callable[[Request], Response]


class SandboxServer:
    """Serve registered routes on 127.0.0.1:<free port> in a background thread."""

    def __init__(self) -> None:
        self._routes: list[tuple[str, re.Pattern[str], Handler]] = []
        self.requests: list[tuple[str, str]] = []  # (method, path) of every request, in order
        self.before: list[Callable[[Request], Response | None]] = []  # hooks: rate limit, faults
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    def route(self, method: str, pattern: str) -> Callable[[Handler], Handler]:
        def register(handler: Handler) -> Handler:
            self._routes.append((method.upper(), re.compile(f"^{pattern}$"), handler))
            return handler

        return register

    def dispatch(self, request: Request) -> Response:
        with self._lock:
            self.requests.append((request.method, request.path))
        for hook in self.before:
            early = hook(request)
            if early is not None:
                return early
        for method, pattern, handler in self._routes:
            if method == request.method:
                match = pattern.match(request.path)
                if match:
                    request.match = match
                    return handler(request)
        return Response(404, {"status": "error", "message": f"no route for {request.method} {request.path}"})

    @property
    def url(self) -> str:
        assert self._server is not None, "server not started"
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> SandboxServer:
        sandbox = self

        class _Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = (
                True  # headers and body go out as two writes: no 40 ms delayed-ACK stall
            )

            def _handle(self) -> None:
                parts = urlsplit(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                request = Request(
                    self.command,
                    parts.path,
                    parse_qs(parts.query, keep_blank_values=True),
                    {k.lower(): v for k, v in self.headers.items()},
                    body,
                )
                try:
                    response = sandbox.dispatch(request)
                except Exception as exc:  # a sandbox bug must show as a 500, not a hung socket
                    response = Response(500, {"status": "error", "message": f"sandbox error: {exc!r}"})
                if response.reset:
                    # SO_LINGER 0: close() sends RST, which the client reads as "connection reset by peer"
                    self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                    self.close_connection = True
                    self.connection.close()
                    return
                payload = (
                    response.raw
                    if response.raw is not None
                    else (b"" if response.body is None else json.dumps(response.body).encode())
                )
                self.send_response(response.status)
                headers = {"Content-Type": "application/json;charset=utf-8", **response.headers}
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _handle

            def log_message(self, format: str, *args: Any) -> None:  # keep test output quiet
                return

        class _Server(ThreadingHTTPServer):
            def handle_error(self, request: Any, client_address: Any) -> None:
                # a client that gave up (read timeout, injected reset) is not a sandbox error
                if isinstance(sys.exc_info()[1], (BrokenPipeError, ConnectionResetError, OSError)):
                    return
                super().handle_error(request, client_address)

        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> SandboxServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


class SandboxApp:
    """What every CRM sandbox shares: a `SandboxServer` to start, stop and address."""

    server: SandboxServer

    def start(self) -> Self:
        self.server.start()
        return self

    def stop(self) -> None:
        self.server.stop()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        return self.server.url

    @property
    def calls(self) -> list[tuple[str, str]]:
        """Every request served, as (method, path), in order: what the tests count calls by."""
        return self.server.requests
