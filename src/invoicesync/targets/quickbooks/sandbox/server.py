"""Serve a `Sandbox` over HTTP on loopback, for end-to-end tests, the demo and users' scripts."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlsplit

from invoicesync.targets.quickbooks.sandbox.app import Sandbox
from invoicesync.targets.quickbooks.sandbox.wire import DROP, Request


class _Handler(BaseHTTPRequestHandler):
    server: SandboxServer
    protocol_version = "HTTP/1.1"
    # Headers and body are separate writes; without TCP_NODELAY, Nagle's algorithm and delayed
    # ACKs add ~40 ms to every answer on loopback.
    disable_nagle_algorithm = True

    def log_message(self, format: str, *args: object) -> None:
        """Quiet: the sandbox keeps its own request log."""

    def _serve(self) -> None:
        url = urlsplit(self.path)
        length = int(self.headers.get("content-length") or 0)
        body = self.rfile.read(length) if length else b""
        if len(body) < length:
            # The client went away before its body arrived (killed between the two writes):
            # no request reached us, so nothing is done and no answer is kept for a requestid.
            self.close_connection = True
            return
        request = Request(
            method=self.command,
            path=url.path,
            query=dict(parse_qsl(url.query, keep_blank_values=True)),
            headers={k.lower(): v for k, v in self.headers.items()},
            body=body,
        )
        response = self.server.sandbox.handle(request)
        if response is DROP:
            # The work is committed; the client never hears about it.
            self.close_connection = True
            return
        self.send_response(response.status)
        for name, value in response.headers.items():
            self.send_header(name, value)
        if self.close_connection:  # the client asked for it: say so, or it reuses the socket
            self.send_header("connection", "close")
        self.send_header("content-length", str(len(response.body)))
        self.end_headers()
        self.wfile.write(response.body)

    do_GET = _serve
    do_POST = _serve


class SandboxServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, sandbox: Sandbox, host: str = "127.0.0.1", port: int = 0) -> None:
        super().__init__((host, port), _Handler)
        self.sandbox = sandbox
        sandbox.base_url = self.url

    def handle_error(self, request: object, client_address: object) -> None:
        """A client that died mid-request (killed, timed out) is expected here; say nothing."""
        import sys

        if isinstance(sys.exc_info()[1], (BrokenPipeError, ConnectionResetError)):
            return
        super().handle_error(request, client_address)  # type: ignore[arg-type]

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        name = host.decode() if isinstance(host, bytes) else str(host)
        return f"http://{name}:{port}"


def start_in_thread(sandbox: Sandbox, port: int = 0) -> SandboxServer:
    """Start a loopback server in a daemon thread; call `.shutdown()` to stop it."""
    server = SandboxServer(sandbox, port=port)
    thread = threading.Thread(target=server.serve_forever, name="invoicesync-sandbox", daemon=True)
    thread.start()
    return server
