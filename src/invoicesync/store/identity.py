"""Who holds a claim: an identity no other process shares, on any machine, and whether the
process behind an identity is provably alive, provably dead, or beyond what we can see.

A host name and a process id are not enough: cloned VMs are all called `ubuntu`,
containers with host networking share the host's name, and a process id means nothing on
another machine or in another PID namespace, and is reused on this one. So the identity is:

- the boot id (`/proc/sys/kernel/random/boot_id`, random at every boot of a kernel: it differs
  between machines, clones and reboots),
- the machine id (`/etc/machine-id`), so a person reading a claim can tell machines apart,
- the PID namespace (containers on one kernel each have their own process ids),
- the process id and the process's start time in clock ticks since boot (field 22 of
  `/proc/PID/stat`, see proc(5)), which tells a reused process id from the original.

`state` says ALIVE or DEAD only when it can prove it from here; anything else is UNKNOWN, and
the claim then ends with its database session (PostgreSQL) or when it expires. Without /proc
(macOS, Windows) nothing is provable, which is the safe answer. The paths are module globals
so a test can give a process the view of another machine (tests/reliability/machine.py).
"""

from __future__ import annotations

import json
import os
import platform
from dataclasses import asdict, dataclass
from pathlib import Path

MACHINE_ID = Path("/etc/machine-id")
BOOT_ID = Path("/proc/sys/kernel/random/boot_id")
PROC = Path("/proc")

ALIVE = "alive"
DEAD = "dead"
UNKNOWN = "unknown"

_VERSION = 1
_STAT_STATE = 0  # fields after the command name: 0 is field 3 (state), 19 is field 22
_STAT_START = 19


@dataclass(frozen=True)
class Identity:
    """One process, named so that no other process on any machine has the same name."""

    host: str
    pid: int
    machine: str = ""  # "" when the system does not say
    boot: str = ""
    pidns: str = ""
    start: str = ""

    def lease(self) -> str:
        """The identity as stored with a claim (JSON; `parse` reads it back)."""
        return json.dumps({"v": _VERSION, **asdict(self)}, sort_keys=True)

    def display(self) -> str:
        """What a person is told: never `host:pid`, which older versions read as a
        process of their own host (and took its claims when that process id was free)."""
        return f"{self.host} (pid {self.pid})"


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="ascii").strip()
    except (OSError, UnicodeDecodeError, ValueError):
        return ""


def _pidns() -> str:
    try:
        return os.readlink(PROC / "self" / "ns" / "pid")
    except (OSError, ValueError):
        return ""


def _stat(pid: int) -> tuple[str, str] | None:
    """(state, start time) of a process as /proc shows it; None when there is no such process."""
    try:
        text = (PROC / str(pid) / "stat").read_text(encoding="utf-8", errors="replace")
    except (OSError, ValueError):
        return None
    fields = text.rpartition(")")[2].split()  # the command name may hold spaces and brackets
    if len(fields) <= _STAT_START:
        return None
    return fields[_STAT_STATE], fields[_STAT_START]


def this_process() -> Identity:
    pid = os.getpid()
    found = _stat(pid)
    return Identity(
        host=platform.node(),
        pid=pid,
        machine=_read(MACHINE_ID),
        boot=_read(BOOT_ID),
        pidns=_pidns(),
        start=found[1] if found else "",
    )


def parse(lease: str | None) -> Identity | None:
    """The identity a lease names, or None for anything else (an older claim, hostile text)."""
    try:
        data = json.loads(lease or "")
    except (ValueError, RecursionError):
        return None
    if not isinstance(data, dict) or data.get("v") != _VERSION:
        return None
    texts = [data.get(k) for k in ("host", "machine", "boot", "pidns", "start")]
    pid = data.get("pid")
    strings = [t for t in texts if isinstance(t, str)]
    if len(strings) != len(texts) or type(pid) is not int:
        return None
    host, machine, boot, pidns, start = strings
    return Identity(host, pid, machine, boot, pidns, start)


def state(lease: str | None) -> str:
    """ALIVE, DEAD or UNKNOWN: what this process can prove about the process a lease names."""
    other = parse(lease)
    if other is None:
        return UNKNOWN
    me = this_process()
    if not (me.boot and other.boot):
        return UNKNOWN
    if other.boot != me.boot:
        # Another kernel: another machine, or this one before a reboot. The machine id cannot
        # tell them apart for certain (clones whose /etc/machine-id was never regenerated
        # share it), and a live run's claims must never be taken, so this proves nothing.
        return UNKNOWN
    if not me.pidns or other.pidns != me.pidns:
        return UNKNOWN  # another PID namespace on this kernel: its process ids are not ours
    found = _stat(other.pid)
    if found is None or found[0] in {"Z", "X"}:  # gone, or killed and not yet reaped
        return DEAD
    if not other.start:
        return UNKNOWN
    return ALIVE if found[1] == other.start else DEAD  # a new process under a reused pid
