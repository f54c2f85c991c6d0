"""A keyring that several processes share, like the OS keyring of one user: one file per entry
in `INVOICESYNC_TEST_KEYRING` (select it with PYTHON_KEYRING_BACKEND=tests.cli.shared_keyring.
SharedKeyring). Writes are slowed down the way a real keyring's D-Bus round trip is, which
widens the window in which an unlocked refresh would read a superseded token."""

from __future__ import annotations

import hashlib
import os
import time
from pathlib import Path

import keyring.backend
import keyring.errors

WRITE_DELAY = 0.2


def entry(directory: Path, service: str, username: str) -> Path:
    return directory / hashlib.sha256(f"{service}\0{username}".encode()).hexdigest()


class SharedKeyring(keyring.backend.KeyringBackend):
    priority = 1  # type: ignore[assignment]

    @property
    def directory(self) -> Path:
        return Path(os.environ["INVOICESYNC_TEST_KEYRING"])

    def get_password(self, service: str, username: str) -> str | None:
        try:
            return entry(self.directory, service, username).read_text()
        except FileNotFoundError:
            return None

    def set_password(self, service: str, username: str, password: str) -> None:
        time.sleep(WRITE_DELAY)
        path = entry(self.directory, service, username)
        tmp = path.with_name(f"{path.name}.{os.getpid()}")
        tmp.write_text(password)
        os.replace(tmp, path)

    def delete_password(self, service: str, username: str) -> None:
        try:
            entry(self.directory, service, username).unlink()
        except FileNotFoundError:
            raise keyring.errors.PasswordDeleteError("not found") from None
