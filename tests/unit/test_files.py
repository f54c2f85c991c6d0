"""The one atomic-write helper: private, durable, and never written through a link."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from invoicesync import files
from invoicesync.config import load_settings, save_config_values
from invoicesync.errors import EXIT_INVALID_INPUT
from invoicesync.targets.quickbooks import settings as qbo


def mode_of(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_write_creates_a_private_file_and_its_directory(tmp_path: Path) -> None:
    target = tmp_path / "new" / "dir" / "tokens.json"
    files.write_atomic(target, "secret")
    assert target.read_text() == "secret"
    assert mode_of(target) == 0o600
    assert mode_of(target.parent) == 0o700
    assert os.listdir(target.parent) == ["tokens.json"]  # no temp file left behind


def test_write_replaces_content_and_mode_whatever_the_umask(tmp_path: Path) -> None:
    target = tmp_path / "config.toml"
    target.write_text("old")
    target.chmod(0o666)
    old = os.umask(0)
    try:
        files.write_atomic(target, b"new", mode=0o640)
    finally:
        os.umask(old)
    assert target.read_bytes() == b"new"
    assert mode_of(target) == 0o640


def test_a_symlinked_target_is_refused_and_its_target_untouched(tmp_path: Path) -> None:
    victim = tmp_path / "victim.txt"
    victim.write_text("precious")
    link = tmp_path / "tokens.json"
    link.symlink_to(victim)
    with pytest.raises(files.UnsafeFile) as caught:
        files.write_atomic(link, "secret")
    assert caught.value.exit_code == EXIT_INVALID_INPUT
    assert "is a symbolic link" in str(caught.value)
    assert victim.read_text() == "precious"
    assert link.is_symlink()


def test_a_dangling_symlink_target_is_refused(tmp_path: Path) -> None:
    link = tmp_path / "tokens.json"
    link.symlink_to(tmp_path / "attacker-will-read-this")
    with pytest.raises(files.UnsafeFile):
        files.write_atomic(link, "secret")
    assert not (tmp_path / "attacker-will-read-this").exists()


def test_a_fifo_is_refused_for_reading_and_writing(tmp_path: Path) -> None:
    fifo = tmp_path / "connection.json"
    os.mkfifo(fifo)
    with pytest.raises(files.UnsafeFile, match="not a regular file"):
        files.read_text(fifo)
    with pytest.raises(files.UnsafeFile, match="not a regular file"):
        files.write_atomic(fifo, "x")


def test_read_text_of_a_missing_file_is_none(tmp_path: Path) -> None:
    assert files.read_text(tmp_path / "nope") is None


def test_a_planted_link_at_the_temp_name_is_skipped(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An attacker who can predict the temp name plants a link there: O_EXCL|O_NOFOLLOW refuses
    to open it, the writer picks another name, and nothing reaches the link's target."""
    attacker = tmp_path / "attacker.txt"
    attacker.write_text("")
    target = tmp_path / "tokens.json"
    planted = tmp_path / ".tokens.json.predictable.tmp"
    planted.symlink_to(attacker)
    names = iter([planted, tmp_path / ".tokens.json.fresh.tmp"])
    monkeypatch.setattr(files, "temp_path", lambda _target: next(names))
    files.write_atomic(target, "refresh-token-secret")
    assert target.read_text() == "refresh-token-secret"
    assert attacker.read_text() == ""
    assert planted.is_symlink()  # left alone, not followed, not deleted


def test_a_parent_that_is_a_file_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "ci").write_text("not a directory")
    with pytest.raises(files.UnsafeFile, match="cannot create the directory"):
        files.write_atomic(tmp_path / "ci" / "tokens.json", "x")


def test_config_is_written_atomically_and_never_through_a_link(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    save_config_values(config, {"realm_id": "123", "client_id": "abc"})
    assert qbo.of(load_settings(env={}, config_path=config)).realm_id == "123"
    assert mode_of(config) == 0o600
    elsewhere = tmp_path / "dotfiles.toml"
    elsewhere.write_text('environment = "sandbox"\n')
    config.unlink()
    config.symlink_to(elsewhere)
    with pytest.raises(files.UnsafeFile, match="symbolic link"):
        save_config_values(config, {"realm_id": "456"})
    assert elsewhere.read_text() == 'environment = "sandbox"\n'


# --- private directories, reads and locks that never follow a link ------


@pytest.fixture
def umask_000() -> Iterator[None]:
    old = os.umask(0)
    try:
        yield
    finally:
        os.umask(old)


def snapshot(path: Path) -> tuple[bytes, int]:
    return path.read_bytes(), path.stat().st_mtime_ns


def test_every_directory_created_is_0700_whatever_the_umask(
    tmp_path: Path, umask_000: None
) -> None:
    tmp_path.chmod(0o755)
    files.ensure_dir(tmp_path / "app" / "profiles" / "books" / "cache")
    for path in ("app", "app/profiles", "app/profiles/books", "app/profiles/books/cache"):
        assert mode_of(tmp_path / path) == 0o700, path
    assert mode_of(tmp_path) == 0o755  # what was there is not ours to change
    files.write_atomic(tmp_path / "new" / "deeper" / "tokens.json", "x")
    assert mode_of(tmp_path / "new") == mode_of(tmp_path / "new" / "deeper") == 0o700


@pytest.mark.parametrize("level", ["app", "app/profiles", "app/profiles/books"])
def test_a_linked_directory_anywhere_below_the_root_is_refused(tmp_path: Path, level: str) -> None:
    root, folder = tmp_path / "app", tmp_path / "app" / "profiles" / "books"
    elsewhere = tmp_path / "elsewhere"
    (elsewhere / "profiles" / "books").mkdir(parents=True)
    files.ensure_dir((tmp_path / level).parent)
    (tmp_path / level).symlink_to(elsewhere / Path(level).name, target_is_directory=True)
    if level == "app":
        (elsewhere / "app").mkdir()
    for create in (True, False):
        with pytest.raises(files.UnsafeFile) as caught:
            files.private_dir(folder, root=root, create=create)
        assert caught.value.exit_code == EXIT_INVALID_INPUT
        assert str(caught.value).startswith(f"{tmp_path / level} is a symbolic link")
    assert not any((elsewhere / Path(level).name).rglob("cache"))


@pytest.mark.parametrize("bits", [0o777, 0o770, 0o722, 0o702])
def test_a_directory_others_can_write_is_refused_with_the_fix(tmp_path: Path, bits: int) -> None:
    root = tmp_path / "app"
    files.private_dir(root / "cache", root=root)
    (root / "cache").chmod(bits)
    with pytest.raises(files.UnsafeFile) as caught:
        files.private_dir(root / "cache", root=root)
    assert f"chmod 700 {root / 'cache'}" in str(caught.value)
    (root / "cache").chmod(0o755)  # readable by others is the user's choice
    files.private_dir(root / "cache", root=root)


def test_a_missing_directory_is_not_created_when_only_checked(tmp_path: Path) -> None:
    files.private_dir(tmp_path / "app" / "profiles" / "x", root=tmp_path / "app", create=False)
    assert not (tmp_path / "app").exists()


def test_read_text_refuses_a_link_and_never_reads_through_it(tmp_path: Path) -> None:
    theirs = tmp_path / "their-tokens.json"
    theirs.write_text('{"refresh_token": "theirs"}')
    link = tmp_path / "tokens.json"
    link.symlink_to(theirs)
    with pytest.raises(files.UnsafeFile) as caught:
        files.read_text(link)
    assert str(caught.value).startswith(f"{link} is a symbolic link")
    assert "theirs" not in str(caught.value)


def test_a_lock_is_created_0600_whatever_the_umask(tmp_path: Path, umask_000: None) -> None:
    path = tmp_path / "state.lock"
    with files.FileLock(path):
        assert mode_of(path) == 0o600
    old = tmp_path / "tokens.json.lock"
    old.write_text("")
    old.chmod(0o666)  # left by an earlier version
    with files.FileLock(old):
        assert mode_of(old) == 0o600


@pytest.mark.parametrize("dangling", [False, True])
def test_a_lock_never_follows_a_link_and_leaves_its_target_untouched(
    tmp_path: Path, dangling: bool
) -> None:
    target = tmp_path / "precious.txt"
    if not dangling:
        target.write_text("precious\n")
        before = snapshot(target)
    link = tmp_path / "state.lock"
    link.symlink_to(target)
    with pytest.raises(files.UnsafeFile) as caught:
        files.FileLock(link).acquire(timeout=0)
    assert caught.value.exit_code == EXIT_INVALID_INPUT
    assert str(caught.value).startswith(f"{link} is a symbolic link")
    if dangling:
        assert not target.exists()
    else:
        assert snapshot(target) == before


def test_a_fifo_at_a_lock_path_is_refused_without_blocking(tmp_path: Path) -> None:
    fifo = tmp_path / "state.lock"
    os.mkfifo(fifo)
    with pytest.raises(files.UnsafeFile, match="not a regular file"):
        files.FileLock(fifo).acquire(timeout=0)


def test_a_held_lock_is_refused_to_a_second_holder_until_released(tmp_path: Path) -> None:
    path = tmp_path / "state.lock"
    first = files.FileLock(path)
    first.acquire(timeout=0)
    with pytest.raises(files.LockTimeout):
        files.FileLock(path).acquire(timeout=0)
    first.release()
    second = files.FileLock(path)
    second.acquire(timeout=0)
    second.release()
