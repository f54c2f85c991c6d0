"""The test PostgreSQL starts wherever the clone lives: from a private (0700) directory, as root
(the server then runs as `nobody`) or as a normal user (the server runs as that user)."""

from __future__ import annotations

import os
import stat
import subprocess
import tempfile
from pathlib import Path

import psycopg
import pytest

from tests.store.pgserver import (
    UNPRIVILEGED,
    _drop_to,
    reachable_by_others,
    running_server,
    stage,
    wheel_install,
)

as_root = pytest.mark.skipif(os.geteuid() != 0, reason="only root can run a program as nobody")


@pytest.fixture
def private_install(tmp_path: Path) -> Path:
    """The wheel's binaries as they sit in a clone inside a 0700 directory."""
    private = tmp_path / "home"
    private.mkdir()
    bindir = stage(wheel_install(), private / "clone" / ".venv" / "site-packages")
    private.chmod(0o700)
    assert not reachable_by_others(bindir)
    return bindir.parent


def test_staged_binaries_are_open_to_every_user(private_install: Path, tmp_path: Path) -> None:
    shared = tmp_path / "shared"
    shared.mkdir()
    bindir = stage(private_install, shared)
    staged = bindir.parent.parent.parent
    for path in (staged, *staged.rglob("*")):
        mode = path.lstat().st_mode
        if stat.S_ISDIR(mode):
            assert stat.S_IMODE(mode) == 0o755, path
        elif stat.S_ISREG(mode):
            assert mode & stat.S_IROTH, path
    for name in ("initdb", "postgres"):
        assert (bindir / name).stat().st_mode & stat.S_IXOTH, name
    assert any((bindir.parent / "share").rglob("postgres.bki"))  # what initdb reads


@as_root
def test_nobody_runs_the_staged_binaries_but_not_the_private_ones(private_install: Path) -> None:
    drop = _drop_to(UNPRIVILEGED)
    # The failure reproduced: nobody cannot reach binaries in a private clone.
    with pytest.raises(PermissionError):
        subprocess.run([str(private_install / "bin" / "initdb"), "-V"], check=False, **drop)  # type: ignore[call-overload]
    shared = Path(tempfile.mkdtemp(prefix="invoicesync-pg-test-", dir="/tmp"))
    try:
        shared.chmod(0o755)
        bindir = stage(private_install, shared)
        for name in ("initdb", "postgres"):
            done = subprocess.run(
                [str(bindir / name), "-V"],
                capture_output=True,
                text=True,
                check=False,
                cwd=shared,
                **drop,  # type: ignore[call-overload]
            )
            assert done.returncode == 0, done.stderr
            assert "(PostgreSQL) 16." in done.stdout
    finally:
        subprocess.run(["rm", "-rf", str(shared)], check=True)


def test_the_server_starts_from_a_private_directory_with_a_private_tmpdir(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """cwd and TMPDIR both inside a 0700 directory, as in a private clone whose user set TMPDIR
    under it: as root the server is staged in a shared temporary directory and runs as nobody;
    as a normal user it runs as that user."""
    private = tmp_path / "private"
    (private / "tmp").mkdir(parents=True)
    private.chmod(0o700)
    monkeypatch.chdir(private)
    monkeypatch.setattr(tempfile, "tempdir", str(private / "tmp"))
    with running_server() as server, psycopg.connect(server.url()) as conn:
        row = conn.execute("SELECT current_setting('server_version_num')::int").fetchone()
        assert row is not None and row[0] >= 160000
        owner = (server.socket_dir / ".s.PGSQL.5432").stat().st_uid
    expected = _drop_to(UNPRIVILEGED)["user"] if os.geteuid() == 0 else os.geteuid()
    assert owner == expected  # the server ran as nobody (root) or as the user
    assert not server.socket_dir.exists()  # everything removed at the end
