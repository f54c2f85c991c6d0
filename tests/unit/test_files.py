"""The one atomic-write helper: private, durable, and never written through a link."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from invoicesync import files
from invoicesync.config import load_settings, save_config_values
from invoicesync.errors import EXIT_INVALID_INPUT


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
    assert load_settings(env={}, config_path=config).realm_id == "123"
    assert mode_of(config) == 0o600
    elsewhere = tmp_path / "dotfiles.toml"
    elsewhere.write_text('environment = "sandbox"\n')
    config.unlink()
    config.symlink_to(elsewhere)
    with pytest.raises(files.UnsafeFile, match="symbolic link"):
        save_config_values(config, {"realm_id": "456"})
    assert elsewhere.read_text() == 'environment = "sandbox"\n'
