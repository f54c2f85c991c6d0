"""Who holds a claim. A host name and a process id named the holder, and a machine
that shares the host name (cloned VMs, containers with host networking) took a live run's
claims as those of a dead process of its own. The identity now tells machines, boots, PID
namespaces and reused PIDs apart, and says "alive" or "dead" only when it can prove it."""

from __future__ import annotations

import os
import platform
from pathlib import Path

import pytest

from invoicesync.store import identity
from invoicesync.store.identity import ALIVE, DEAD, UNKNOWN, Identity

BOOT = "0d8f36b5-7f5e-4a39-9cf2-5ad0a4f6b7e1"
MACHINE = "6f1c2a9e0b7d4c3a8e5f1b2c3d4e5f60"


@pytest.fixture
def proc(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A machine of our making: its machine id, boot id, /proc with this process in it."""
    root = tmp_path / "machine"
    (root / "proc" / "self" / "ns").mkdir(parents=True)
    (root / "proc" / "self" / "ns" / "pid").symlink_to("pid:[4026531836]")
    (root / "machine-id").write_text(MACHINE + "\n")
    (root / "boot_id").write_text(BOOT + "\n")
    monkeypatch.setattr(identity, "PROC", root / "proc")
    monkeypatch.setattr(identity, "MACHINE_ID", root / "machine-id")
    monkeypatch.setattr(identity, "BOOT_ID", root / "boot_id")
    running(root / "proc", os.getpid(), start=1111)
    return root / "proc"


def running(proc: Path, pid: int, start: int, state: str = "S") -> None:
    (proc / str(pid)).mkdir(exist_ok=True)
    fields = [state, *["0"] * 18, str(start), "0"]  # field 3 is the state, 22 the start time
    (proc / str(pid) / "stat").write_text(f"{pid} (invoice sync) {' '.join(fields)}\n")


def test_this_process_is_named_by_machine_boot_namespace_pid_and_start(proc: Path) -> None:
    me = identity.this_process()
    assert me == Identity(
        host=platform.node(),
        pid=os.getpid(),
        machine=MACHINE,
        boot=BOOT,
        pidns="pid:[4026531836]",
        start="1111",
    )
    assert identity.parse(me.lease()) == me
    assert identity.state(me.lease()) == ALIVE
    assert me.display() == f"{platform.node()} (pid {os.getpid()})"


def test_a_clone_with_the_same_host_name_is_never_judged_from_here(proc: Path) -> None:
    """Finding 3: the same host name and a process id not running here proved nothing."""
    clone = Identity(platform.node(), 999_999, MACHINE, "another-boot", "pid:[4026531836]", "5")
    assert identity.state(clone.lease()) == UNKNOWN
    other = Identity(platform.node(), 999_999, "another-machine", "another-boot", "pid:[1]", "5")
    assert identity.state(other.lease()) == UNKNOWN


def test_a_container_on_this_kernel_with_its_own_pids_is_never_judged_from_here(
    proc: Path,
) -> None:
    container = Identity("web-1", 7, MACHINE, BOOT, "pid:[4026532999]", "5")
    assert identity.state(container.lease()) == UNKNOWN


def test_a_process_gone_or_replaced_on_this_machine_is_dead(proc: Path) -> None:
    gone = Identity(platform.node(), 424_242, MACHINE, BOOT, "pid:[4026531836]", "77")
    assert identity.state(gone.lease()) == DEAD
    running(proc, 424_242, start=78)  # the pid was given to a new process
    assert identity.state(gone.lease()) == DEAD
    running(proc, 424_242, start=77)
    assert identity.state(gone.lease()) == ALIVE
    running(proc, 424_242, start=77, state="Z")  # killed, not yet reaped
    assert identity.state(gone.lease()) == DEAD


def test_another_boot_proves_nothing_even_with_this_machine_id(proc: Path) -> None:
    """A process from before this machine's last boot is gone, but a clone whose machine id
    was never regenerated looks the same from here: its claims must not be taken."""
    before = Identity(platform.node(), os.getpid(), MACHINE, "the-boot-before", "pid:[1]", "1")
    assert identity.state(before.lease()) == UNKNOWN


@pytest.mark.parametrize(
    "lease", [None, "", "host:4083", "{}", '{"v": 1, "pid": "x"}', "[1, 2]", "\x00", "{" * 50]
)
def test_leases_that_prove_nothing_are_unknown(proc: Path, lease: str | None) -> None:
    assert identity.state(lease) == UNKNOWN


def test_without_proc_nothing_is_proven(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Elsewhere (macOS, Windows) a claim ends when its session does (PostgreSQL) or when it
    expires (SQLite): the host name alone never proves a process dead."""
    monkeypatch.setattr(identity, "PROC", tmp_path / "none")
    monkeypatch.setattr(identity, "MACHINE_ID", tmp_path / "none" / "machine-id")
    monkeypatch.setattr(identity, "BOOT_ID", tmp_path / "none" / "boot_id")
    me = identity.this_process()
    assert (me.host, me.pid, me.boot, me.start) == (platform.node(), os.getpid(), "", "")
    assert identity.state(me.lease()) == UNKNOWN
    gone = Identity(platform.node(), 424_242)
    assert identity.state(gone.lease()) == UNKNOWN
