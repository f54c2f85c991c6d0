"""The app dir under attack: every directory private (0700) whatever the
umask, every lock 0600, and a link, a foreign file or a directory others can write planted at
any path the tool uses is refused with exit 8, the path and what to do, before anything is read
through it or written to it, and before any token is spent."""

from __future__ import annotations

import os
import shutil
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import Result

from tests.helpers import US, World

TOKEN_PATHS = ("/oauth2/v1/tokens/bearer", "/v2/oauth2/tokens/revoke")
Snapshot = dict[str, tuple[bytes, int]]


def mode(path: Path) -> int:
    return stat.S_IMODE(path.lstat().st_mode)


@pytest.fixture
def umask_000() -> Iterator[None]:
    old = os.umask(0)
    try:
        yield
    finally:
        os.umask(old)


def token_requests(world: World) -> int:
    return sum(1 for r in world.sandbox.requests if r.path in TOKEN_PATHS)


def with_token_file(world: World) -> World:
    """A world whose tokens live in `tokens.json` in the app dir (the demo's layout)."""
    world.monkeypatch.setenv("INVOICESYNC_TOKEN_FILE", str(world.home / "tokens.json"))
    world.monkeypatch.setenv("COLUMNS", "2000")  # a long message stays on one line
    world.connect()
    world.source("us")
    first = world.run("push", "INV-2026-0101")
    assert first.exit_code == 0, first.stderr
    return world


def snapshot(path: Path) -> Snapshot:
    """Content and mtime of a file, or of every file in a directory (and the directory's own)."""
    if not path.is_dir():
        return {".": (path.read_bytes(), path.stat().st_mtime_ns)}
    found = {".": (b"", path.stat().st_mtime_ns)}
    for inner in sorted(path.rglob("*")):
        is_dir = inner.is_dir()
        found[str(inner.relative_to(path))] = (
            b"" if is_dir else inner.read_bytes(),
            inner.stat().st_mtime_ns,
        )
    return found


def plant(path: Path, elsewhere: Path) -> Path:
    """Replace `path` by a link to a copy of what it held (so that reading through the link
    would work), or to a new file or directory of someone else's; returns the link's target."""
    elsewhere.mkdir(exist_ok=True)
    target = elsewhere / path.name
    if path.exists():
        shutil.move(path, target)
    elif path.name in {"cache", "budget"} or path.parent.name == "profiles":
        target.mkdir()
        (target / "theirs.json").write_text("precious\n")
    else:
        target.write_text("precious\n")
    path.symlink_to(target, target_is_directory=target.is_dir())
    return target


def refused(result: Result, path: Path) -> str:
    """Exit 8 with the path and the fix on one line, no traceback."""
    assert result.exit_code == 8, (result.exit_code, result.stdout, result.stderr)
    assert "Traceback" not in result.stderr and "This is a bug" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if str(path) in line]
    assert len(lines) == 1, result.stderr
    return lines[0]


# --- created private whatever the umask ------------------------------------------------------


def test_under_umask_000_every_directory_is_0700_and_every_lock_0600(
    world: World, umask_000: None, tmp_path: Path
) -> None:
    with_token_file(world)
    world.sandbox.oauth.expire_access_tokens()  # a refresh: the token file's lock is taken
    assert world.run("push", "--all").exit_code == 0
    home = world.home
    for directory in [home, *(p for p in home.rglob("*") if p.is_dir())]:
        assert mode(directory) == 0o700, directory
    assert {p.name for p in home.iterdir() if p.is_dir()} >= {"cache", "budget"}
    for lock in ("state.lock", "tokens.json.lock", f"budget/{US}.budget.lock"):
        assert mode(home / lock) == 0o600, lock
    for path in home.rglob("*"):
        if path.is_file():
            assert mode(path) == 0o600, path


def test_under_umask_000_the_keyed_lock_dir_and_its_lock_are_private(
    us: World, umask_000: None, tmp_path: Path
) -> None:
    us.sandbox.oauth.expire_access_tokens()
    assert us.run("status").exit_code == 0
    locks = tmp_path / "locks"  # INVOICESYNC_LOCK_DIR (tests/conftest.py)
    assert mode(locks) == 0o700
    assert [mode(p) for p in locks.iterdir()] == [0o600]


def test_under_umask_000_a_profiles_state_folder_and_its_parents_are_0700(
    world: World, umask_000: None
) -> None:
    world.home.mkdir(mode=0o700)
    (world.home / "config.toml").write_text("[profiles.books]\n")
    world.monkeypatch.setenv("INVOICESYNC_PROFILE", "books")
    world.connect()
    world.source("us")
    assert world.run("push", "--all").exit_code == 0
    folder = world.home / "profiles" / "books"
    assert (folder / "state.db").is_file()
    for directory in (world.home / "profiles", folder, folder / "cache", folder / "budget"):
        assert mode(directory) == 0o700, directory
    assert mode(folder / "state.lock") == 0o600


# --- planted links ---------------------------------------------------------------------------

PLANTED = [
    "state.lock",
    "state.db",
    "state.db-wal",
    "state.db-shm",
    "state.db-journal",
    "tokens.json",
    "tokens.json.lock",
    "connection.json",
    "config.toml",
    "cache",
    f"cache/qbo-{US}.json",
    "budget",
    f"budget/{US}.budget",
    f"budget/{US}.budget.lock",
]


@pytest.mark.parametrize("name", PLANTED)
def test_a_link_planted_in_the_app_dir_is_refused_and_its_target_untouched(
    world: World, tmp_path: Path, name: str
) -> None:
    with_token_file(world)
    world.sandbox.oauth.expire_access_tokens()  # so the refresh lock is taken too
    path = world.home / name
    target = plant(path, tmp_path / "elsewhere")
    before = snapshot(target)
    invoices = len(world.invoices())
    line = refused(world.run("push", "--all"), path)
    assert "symbolic link" in line
    assert snapshot(target) == before
    assert len(world.invoices()) == invoices  # nothing was sent


def test_a_linked_profile_state_folder_is_refused(world: World, tmp_path: Path) -> None:
    world.home.mkdir(mode=0o700)
    (world.home / "config.toml").write_text("[profiles.books]\n")
    world.monkeypatch.setenv("INVOICESYNC_PROFILE", "books")
    world.monkeypatch.setenv("COLUMNS", "2000")
    world.connect()
    world.source("us")
    folder = world.home / "profiles" / "books"
    target = plant(folder, tmp_path / "elsewhere")
    before, invoices = snapshot(target), len(world.invoices())
    line = refused(world.run("push", "--all"), folder)
    assert "symbolic link" in line
    assert snapshot(target) == before
    assert len(world.invoices()) == invoices


def test_a_linked_profiles_folder_is_refused(world: World, tmp_path: Path) -> None:
    world.home.mkdir(mode=0o700)
    (world.home / "config.toml").write_text("[profiles.books]\n")
    world.monkeypatch.setenv("COLUMNS", "2000")
    elsewhere = tmp_path / "elsewhere"
    (elsewhere / "books").mkdir(parents=True)
    (world.home / "profiles").symlink_to(elsewhere, target_is_directory=True)
    line = refused(world.run("--profile", "books", "status"), world.home / "profiles")
    assert "symbolic link" in line
    assert list((elsewhere / "books").iterdir()) == []


def test_a_token_file_linked_to_another_connections_is_refused_before_any_token_request(
    world: World, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another home's token file (same company): reading through the link would rotate (or,
    with `disconnect`, revoke) that connection's refresh token; nothing is sent to Intuit."""
    theirs = tmp_path / "their-home" / "tokens.json"
    monkeypatch.setenv("INVOICESYNC_TOKEN_FILE", str(theirs))
    monkeypatch.setenv("COLUMNS", "2000")
    world.connect()
    world.source("us")
    ours = world.home / "tokens.json"
    ours.symlink_to(theirs)
    monkeypatch.setenv("INVOICESYNC_TOKEN_FILE", str(ours))
    world.sandbox.oauth.expire_access_tokens()  # every command would have to refresh
    before, sent = snapshot(theirs), token_requests(world)
    for args in (["status"], ["push", "--all"], ["reconcile"]):
        line = refused(world.run(*args), ours)
        assert "symbolic link" in line, args
    disconnect = world.run("disconnect")
    assert disconnect.exit_code == 8 and str(ours) in disconnect.stderr
    assert token_requests(world) == sent  # no refresh, no revocation
    assert snapshot(theirs) == before
    assert not any(grant.revoked for grant in world.sandbox.oauth.grants)


# --- directories others can write, files others own -------------------------------------------


@pytest.mark.parametrize("name", ["", "cache", "budget"])
@pytest.mark.parametrize("bits", [0o777, 0o770, 0o703])
def test_a_directory_others_can_write_is_refused(world: World, name: str, bits: int) -> None:
    with_token_file(world)
    directory = world.home / name if name else world.home
    directory.chmod(bits)
    invoices = len(world.invoices())
    line = refused(world.run("push", "--all"), directory)
    assert "other users can write" in line and f"chmod 700 {directory}" in line
    assert len(world.invoices()) == invoices


needs_root = pytest.mark.skipif(
    not hasattr(os, "geteuid") or os.geteuid() != 0, reason="chown needs root"
)


@needs_root
@pytest.mark.parametrize("name", ["", "connection.json", "config.toml", "tokens.json", "state.db"])
def test_a_file_or_directory_of_another_user_is_refused(world: World, name: str) -> None:
    with_token_file(world)
    path = world.home / name if name else world.home
    os.chown(path, 65534, -1)
    line = refused(world.run("push", "--all"), path)
    assert "belongs to another user" in line


@pytest.mark.parametrize("plant_link", [False, True])
def test_an_unsafe_refresh_lock_folder_is_refused_before_any_token_request(
    us: World, tmp_path: Path, plant_link: bool
) -> None:
    """The keyring's refresh lock lives in INVOICESYNC_LOCK_DIR (tests/conftest.py)."""
    locks = tmp_path / "locks"
    locks.mkdir(exist_ok=True)
    if plant_link:
        locks.rmdir()
        (tmp_path / "theirs").mkdir()
        locks.symlink_to(tmp_path / "theirs", target_is_directory=True)
    else:
        locks.chmod(0o777)
    us.monkeypatch.setenv("COLUMNS", "2000")
    us.sandbox.oauth.expire_access_tokens()
    sent = token_requests(us)
    line = refused(us.run("status"), locks)
    assert ("symbolic link" if plant_link else f"chmod 700 {locks}") in line
    assert token_requests(us) == sent
    assert not plant_link or list((tmp_path / "theirs").iterdir()) == []
