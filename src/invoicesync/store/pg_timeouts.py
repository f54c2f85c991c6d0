"""Timeouts on the shared state: a stuck, vanished or frozen PostgreSQL becomes
exit 7 within a bound (`state_timeout`, docs/configuration.md), never a wait without end.

Three layers, because each covers what the others cannot:

- **The server's own timeouts**, set on the session: `statement_timeout` and `lock_timeout`
  end a statement that runs or waits on a lock longer than `state_timeout`, with an error the
  connection survives; `idle_in_transaction_session_timeout` ends the session of a client
  frozen inside a transaction, whose row locks would otherwise hold other runs. It is the claim
  lifetime, which exceeds the longest send a live run makes while its outcome group is open.
- **TCP keepalives and `tcp_user_timeout`** (libpq parameters, unless the URL sets its own): a
  server host that vanished (power, network) is noticed while idle or while a query is unsent.
- **The client's own deadline**: a frozen server (SIGSTOP, a hung VM) enforces none of its
  timeouts, and its kernel still acknowledges TCP, so keepalives see nothing either. Every
  statement therefore has a deadline of `state_timeout` plus a grace (as long again, at most
  5 s, so the server's own error arrives first when it can); when it passes, a watcher thread
  shuts the connection's socket down. The wait ends as a lost connection (exit 7), and that
  connection is never used again, so a late answer cannot be mistaken for another one.
"""

from __future__ import annotations

import contextlib
import math
import os
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

from psycopg.conninfo import conninfo_to_dict

from invoicesync.store.contract import DEFAULT_CLAIM_TTL

MAX_GRACE = 5.0


def bound(timeout: float) -> float:
    """The longest a statement can hold the client: the server's timeout, then the grace."""
    return timeout + min(timeout, MAX_GRACE)


def connect_parameters(url: str, timeout: float) -> dict[str, Any]:
    """libpq parameters for the connection, except those the URL sets itself (the user's
    choice wins; psycopg would let ours override it)."""
    try:
        given = conninfo_to_dict(url)
    except Exception:  # psycopg.connect reports a malformed URL itself, with a better message
        given = {}
    wanted = {
        "connect_timeout": str(max(2, math.ceil(timeout))),  # libpq's minimum is 2
        "keepalives": "1",
        "keepalives_idle": "30",
        "keepalives_interval": "10",
        "keepalives_count": "3",
        "tcp_user_timeout": str(int(timeout * 1000)),
    }
    return {k: v for k, v in wanted.items() if k not in given}


def session_settings(timeout: float) -> list[str]:
    ms = int(timeout * 1000)
    return [
        f"SET statement_timeout = {ms}",
        f"SET lock_timeout = {ms}",
        f"SET idle_in_transaction_session_timeout = {DEFAULT_CLAIM_TTL * 1000}",
        # The server's keepalives end the session (and its locks) of a client host that vanished.
        "SET tcp_keepalives_idle = 60",
        "SET tcp_keepalives_interval = 10",
        "SET tcp_keepalives_count = 6",
    ]


def family(host: str, hostaddr: str) -> int:
    """The address family of a libpq connection, from its `host` and `hostaddr`."""
    if not host or host.startswith(("/", "@")):  # a unix socket's directory, or abstract name
        return socket.AF_UNIX
    return socket.AF_INET6 if ":" in hostaddr else socket.AF_INET


def _shut(fd: int, family: int) -> None:
    """Shut a socket down from another thread: the blocked wait on it sees the end of the
    stream at once. A duplicate descriptor is used, so the connection's own stays valid."""
    try:
        sock = socket.socket(family, socket.SOCK_STREAM, 0, os.dup(fd))
    except OSError:
        return
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)
    sock.close()


class Deadline:
    """Bounds each statement on one connection from a watcher thread (started on first use).

    The statements run on one thread; arming and disarming cost a lock, and the watcher is only
    woken when it sleeps without a deadline, so a busy connection does not pay a context switch
    per statement."""

    def __init__(self, fd: int, family: int, seconds: float) -> None:
        self.fd = fd
        self.family = family
        self.seconds = seconds
        self.expired = False
        self._cond = threading.Condition()
        self._due: float | None = None
        self._idle = False
        self._closed = False
        self._thread: threading.Thread | None = None

    @contextlib.contextmanager
    def bounding(self) -> Iterator[None]:
        with self._cond:
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._watch, name="invoicesync-state-deadline", daemon=True
                )
                self._thread.start()
            self._due = time.monotonic() + self.seconds
            if self._idle:
                self._cond.notify()
        try:
            yield
        finally:
            with self._cond:
                self._due = None

    def _watch(self) -> None:
        with self._cond:
            while not self._closed:
                if self._due is None:
                    self._idle = True
                    self._cond.wait()
                    self._idle = False
                    continue
                left = self._due - time.monotonic()
                if left > 0:
                    self._cond.wait(left)
                    continue
                self._due = None
                self.expired = True
                _shut(self.fd, self.family)

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify()
