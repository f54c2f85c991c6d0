"""The connection file: what we know about a connection besides secrets (app dir)."""

from __future__ import annotations

import contextlib
import json
from dataclasses import asdict, dataclass
from pathlib import Path

from invoicesync.errors import ConfigError
from invoicesync.files import read_text, write_atomic


def reconnect_hint(environment: str) -> str:
    manual = " --manual" if environment == "production" else ""
    return f"run `invoicesync connect{manual}` to reconnect"


@dataclass
class Connection:
    """What we know about the connection besides secrets; kept in app dir/connection.json."""

    environment: str
    realm_id: str
    client_id: str
    connected_at: str
    company_name: str | None = None
    refresh_expires_at: str | None = None
    hard_expires_at: str | None = None
    last_refresh_at: str | None = None

    @staticmethod
    def path(app_dir: Path) -> Path:
        return app_dir / "connection.json"

    @classmethod
    def load(cls, app_dir: Path) -> Connection | None:
        text = read_text(cls.path(app_dir))
        if text is None:
            return None
        try:
            return cls(**json.loads(text))
        except (ValueError, TypeError) as exc:
            raise ConfigError(
                f"{cls.path(app_dir)}: unreadable connection file ({exc}); delete it and run "
                "`invoicesync connect`"
            ) from None

    def save(self, app_dir: Path) -> None:
        write_atomic(self.path(app_dir), json.dumps(asdict(self), indent=2))

    @staticmethod
    def delete(app_dir: Path) -> None:
        with contextlib.suppress(FileNotFoundError):
            Connection.path(app_dir).unlink()
