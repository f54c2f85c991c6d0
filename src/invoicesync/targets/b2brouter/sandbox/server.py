"""Serve a `B2BRouterSandbox` over HTTP on loopback, for end-to-end tests, the demo and scripts."""

from __future__ import annotations

import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlsplit

from invoicesync.targets.b2brouter.sandbox.app import DROP, B2BRouterSandbox, Request


class _Handler(BaseHTTPRequestHandler):
    server: B2BRouterServer
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body are separate writes

    def log_message(self, format: str, *args: object) -> None:
        """Quiet: the sandbox keeps its own request log."""

    def _serve(self) -> None:
        url = urlsplit(self.path)
        length = int(self.headers.get("content-length") or 0)
        request = Request(
            method=self.command,
            path=url.path,
            query=dict(parse_qsl(url.query, keep_blank_values=True)),
            headers={k.lower(): v for k, v in self.headers.items()},
            body=self.rfile.read(length) if length else b"",
        )
        response = self.server.sandbox.handle(request)
        if response is DROP:
            self.close_connection = True  # committed; the client never hears about it
            return
        self.send_response(response.status)
        for name, value in response.headers.items():
            self.send_header(name, value)
        self.send_header("content-length", str(len(response.body)))
        self.end_headers()
        self.wfile.write(response.body)

    do_GET = do_POST = do_PUT = do_DELETE = _serve


class B2BRouterServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, sandbox: B2BRouterSandbox, host: str = "127.0.0.1", port: int = 0) -> None:
        super().__init__((host, port), _Handler)
        self.sandbox = sandbox
        sandbox.base_url = self.url

    def handle_error(self, request: object, client_address: object) -> None:
        """A client that went away mid-request is expected here; say nothing."""
        if isinstance(sys.exc_info()[1], (BrokenPipeError, ConnectionResetError)):
            return
        super().handle_error(request, client_address)  # type: ignore[arg-type]

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        name = host.decode() if isinstance(host, bytes) else str(host)
        return f"http://{name}:{port}"


def start_in_thread(sandbox: B2BRouterSandbox, port: int = 0) -> B2BRouterServer:
    """Start a loopback server in a daemon thread; call `.shutdown()` then `.server_close()`."""
    server = B2BRouterServer(sandbox, port=port)
    thread = threading.Thread(target=server.serve_forever, name="b2brouter-sandbox", daemon=True)
    thread.start()
    return server
