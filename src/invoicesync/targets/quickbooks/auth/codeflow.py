"""The authorization-code flow: the authorize URL, the loopback redirect listener, the exchange.

An authorization code is exchanged exactly once: the listener accepts the first redirect whose
`state` matches and ignores browser retries.
"""

from __future__ import annotations

import secrets
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx

from invoicesync.errors import InvoiceSyncError, NotConnected, UsageError
from invoicesync.targets.quickbooks.auth.endpoint import token_request
from invoicesync.targets.quickbooks.settings import Endpoints

SCOPE = "com.intuit.quickbooks.accounting"


def authorize_url(endpoints: Endpoints, client_id: str, redirect_uri: str, state: str) -> str:
    query = urlencode(
        {
            "client_id": client_id,
            "response_type": "code",
            "scope": SCOPE,
            "redirect_uri": redirect_uri,
            "state": state,
        }
    )
    return f"{endpoints.auth_url}?{query}"


def new_state() -> str:
    return secrets.token_urlsafe(24)


@dataclass(frozen=True)
class Callback:
    code: str
    realm_id: str


def parse_callback(url_or_query: str, expected_state: str) -> Callback:
    """Check `state` and pull `code` and `realmId` from a redirect URL (or its query string)."""
    query = urlsplit(url_or_query.strip()).query if "?" in url_or_query else url_or_query
    params = {k: v[0] for k, v in parse_qs(query.strip()).items()}
    if params.get("error"):
        raise NotConnected(
            f"authorization was not granted ({params['error']}); run `invoicesync connect` again"
        )
    if not secrets.compare_digest(params.get("state", ""), expected_state):
        raise UsageError(
            "the redirect's state does not match this connect attempt (a stale or forged "
            "redirect); run `invoicesync connect` again and use the new URL"
        )
    if not params.get("code") or not params.get("realmId"):
        raise UsageError("the redirect URL has no code or realmId; paste the full address")
    return Callback(params["code"], params["realmId"])


class CallbackListener:
    """A one-shot HTTP listener on 127.0.0.1 for the OAuth redirect.

    It binds loopback only, answers every path but /callback with 404, and accepts the first
    /callback whose `state` matches; later hits (browser retries) get a friendly page and are
    ignored, so the code is exchanged exactly once.
    """

    def __init__(self, port: int, state: str) -> None:
        self.state = state
        self.result: Callback | None = None
        self.error: InvoiceSyncError | None = None
        self._done = threading.Event()
        listener = self

        class Handler(BaseHTTPRequestHandler):
            disable_nagle_algorithm = True

            def log_message(self, format: str, *args: object) -> None:
                """Silent: nothing about the redirect belongs in the user's terminal."""

            def do_GET(self) -> None:
                url = urlsplit(self.path)
                if url.path != "/callback":
                    self.send_error(404)
                    return
                if listener._done.is_set():
                    self._page(200, "Already connected. You can close this window.")
                    return
                try:
                    listener.result = parse_callback(url.query, listener.state)
                except InvoiceSyncError as exc:
                    if isinstance(exc, UsageError):  # wrong state: ignore, keep waiting
                        self._page(400, "This link is not from the current connect attempt.")
                        return
                    listener.error = exc
                listener._done.set()
                self._page(200, "invoicesync is connected. You can close this window.")

            def _page(self, status: int, text: str) -> None:
                body = f"<!doctype html><title>invoicesync</title><p>{text}</p>".encode()
                self.send_response(status)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        try:
            self.server = HTTPServer(("127.0.0.1", port), Handler)
        except OSError as exc:
            raise UsageError(
                f"cannot listen on 127.0.0.1:{port} for the OAuth redirect ({exc.strerror}); "
                "choose another --port (and register http://localhost:PORT/callback), or use "
                "--manual"
            ) from None
        self.port = int(self.server.server_address[1])
        self._thread = threading.Thread(target=self._serve, daemon=True)

    def _serve(self) -> None:
        while not self._done.is_set():
            self.server.handle_request()

    def start(self) -> None:
        self.server.timeout = 0.2
        self._thread.start()

    def wait(self, timeout: float) -> Callback:
        finished = self._done.wait(timeout)
        self.server.server_close()
        if self.error is not None:
            raise self.error
        if not finished or self.result is None:
            raise NotConnected(
                f"no redirect arrived within {timeout:.0f}s; run `invoicesync connect` again "
                "(or `invoicesync connect --manual` on a machine without a browser)"
            )
        return self.result


def exchange_code(
    http: httpx.Client,
    endpoints: Endpoints,
    client_id: str,
    client_secret: str,
    callback: Callback,
    redirect_uri: str,
) -> dict[str, Any]:
    return token_request(
        http,
        endpoints,
        client_id,
        client_secret,
        {"grant_type": "authorization_code", "code": callback.code, "redirect_uri": redirect_uri},
    )
