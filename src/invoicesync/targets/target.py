"""What a target offers besides its ledger: its section of the settings, how to open a
session, what local files say about its connection, and its connect/disconnect/status/sandbox
commands.

The ledger seam (`ledger/base.py`) is what the use cases call during a run; this is what the
composition root and the CLI need to reach a target without naming it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, Protocol, TypeVar, runtime_checkable

from invoicesync.errors import UsageError

if TYPE_CHECKING:
    from pathlib import Path

    from invoicesync.cli.app import AppState
    from invoicesync.config import Settings
    from invoicesync.sources.base import SourceRules
    from invoicesync.usecases.session import Session


# A setting by its config key and its environment variable: the variable wins, else the
# config.toml value (a non-empty string, else exit 8), else None.
Pick = Callable[[str, str], str | None]


@dataclass(frozen=True)
class LocalConnection:
    """A profile's connection as its local files tell it (no network): `profiles` lists it."""

    connected: bool
    account: str | None  # the company or account id at the target
    company: str | None
    environment: str | None


@dataclass(frozen=True)
class ConnectOptions:
    """`connect`'s flags. Each target uses those that mean something to it and refuses the
    others by name (a flag silently ignored would connect to something the user did not ask)."""

    environment: str | None = None
    manual: bool = False
    port: int | None = None
    client_id: str | None = None
    no_browser: bool = False

    def given(self) -> tuple[str, ...]:
        """The flags given on the command line, as typed."""
        flags = (
            ("--environment", self.environment is not None),
            ("--manual", self.manual),
            ("--port", self.port is not None),
            ("--client-id", self.client_id is not None),
            ("--no-browser", self.no_browser),
        )
        return tuple(name for name, on in flags if on)


@dataclass(frozen=True)
class SandboxOptions:
    """`sandbox serve`'s flags. The last three shape QuickBooks' sandbox only; a target whose
    sandbox has no such knob refuses them when they differ from their defaults."""

    port: int | None = None
    company: tuple[str, ...] = ()
    latency_ms: float = 0.0
    env_file: Path | None = None
    limits: str = "real"
    time_scale: float = 1.0
    auto_approve: bool = False

    def tuned(self) -> tuple[str, ...]:
        """The QuickBooks-sandbox flags given with other than their default values."""
        flags = (
            ("--limits", self.limits != "real"),
            ("--time-scale", self.time_scale != 1.0),
            ("--auto-approve", self.auto_approve),
        )
        return tuple(name for name, on in flags if on)


class Commands(Protocol):
    """A target's own side of the connection commands; it renders with `cli.render`."""

    def connect(self, state: AppState, options: ConnectOptions) -> None: ...
    def disconnect(self, state: AppState) -> None: ...
    def status(self, opened: Session, json_: bool) -> None: ...
    def serve_sandbox(self, options: SandboxOptions) -> None: ...


@runtime_checkable
class SeedsCI(Protocol):
    """A target whose connection is a rotating token a CI secret can be seeded with."""

    def ci_seed(self, state: AppState, to_terminal: bool) -> None: ...


class Target(Protocol):
    """One target: its config value, its display name, and the doors into it."""

    @property
    def key(self) -> str: ...  # the config value: `target = "quickbooks"`
    @property
    def name(self) -> str: ...  # for messages: "QuickBooks"
    @property
    def config_keys(self) -> frozenset[str]: ...  # its own keys of config.toml
    @property
    def secret_keys(self) -> frozenset[str]: ...  # keys config.toml must never hold

    def load_settings(
        self,
        pick: Pick,
        env: Mapping[str, str],
        data: Mapping[str, Any],
        path: Path,
        *,
        environment: str | None = None,
    ) -> object:
        """Its section of the settings (`Settings.section`, read back through its settings
        module's `of`): its keys of config.toml (`data`, at `path`) and its `INVOICESYNC_*`
        variables (`env`), checked (exit 8). `environment`: the `--environment` flag, for a
        target that has environments."""
        ...

    def open_session(self, settings: Settings, **kw: Any) -> Session: ...
    def local_account(self, settings: Settings) -> str | None:
        """The key of the account in local state, read without a network call; None when not
        connected."""
        ...

    def local_connection(self, settings: Settings) -> LocalConnection: ...
    def commands(self) -> Commands: ...  # imported on demand: the CLI's side (typer, rich)
    @property
    def source_rules(self) -> SourceRules: ...  # what it takes of an invoice (exit 8 early)


S = TypeVar("S")


def section_of(settings: Settings, kind: type[S], target: str) -> S:
    """The configured target's settings section as `kind`; another target's section is
    refused (exit 2), since reading it as this target's would reach an account or company
    nobody configured."""
    section = settings.section
    if not isinstance(section, kind):
        raise UsageError(
            f"the {settings.target} target has no {target} settings; choose a {target} "
            "profile with --profile"
        )
    return section


def with_section(settings: Settings, kind: type[Any], target: str, **changes: Any) -> Settings:
    """A copy of `settings` with some fields of its section replaced."""
    return replace(settings, section=replace(section_of(settings, kind, target), **changes))
