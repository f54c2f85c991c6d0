"""Run invoicesync as if on another machine: `python -m tests.reliability.machine NAME ROOT ARGS…`.

Cloned VMs (all called `ubuntu`) and containers with host networking share a host name, but
each has its own machine id and boot id, and none sees another's processes. This wrapper gives
one process that view (the host name NAME, a machine id and boot id of its own under ROOT, and
every other process id invisible), then runs the CLI, so a test on one real machine can run
two "machines" with one host name against one PostgreSQL state.
"""

from __future__ import annotations

import hashlib
import os
import platform
import sys
from pathlib import Path
from typing import Any


def pretend(name: str, root: Path) -> None:
    own = os.getpid()
    real_kill = os.kill

    def kill(pid: int, sig: int) -> None:
        if sig == 0 and pid != own:  # another machine's process ids mean nothing here
            raise ProcessLookupError(pid)
        real_kill(pid, sig)

    def node(*_: Any) -> str:
        return name

    os.kill = kill
    platform.node = node
    root.mkdir(parents=True, exist_ok=True)
    seed = hashlib.sha256(str(root.resolve()).encode()).hexdigest()
    (root / "machine-id").write_text(seed[:32] + "\n")
    (root / "boot_id").write_text(
        f"{seed[32:40]}-{seed[40:44]}-{seed[44:48]}-{seed[48:52]}-{seed[52:64]}\n"
    )
    try:
        from invoicesync.store import identity
    except ImportError:  # older claims recorded only the host name
        return
    identity.MACHINE_ID = root / "machine-id"
    identity.BOOT_ID = root / "boot_id"


if __name__ == "__main__":
    pretend(sys.argv[1], Path(sys.argv[2]))
    sys.argv = ["invoicesync", *sys.argv[3:]]
    from invoicesync import main

    main()
