"""Run a command that must not outlive the server: ``python -m metrolab.engine.documents.deathwatch
PARENT_PID -- command …``.

LibreOffice is unoserver → soffice → soffice.bin, each started by the one before. Killed with
``kill -9``, the server cannot stop them: they were left running with parent 1 (12 processes,
~1.4 GB, ignoring SIGTERM). ``PR_SET_PDEATHSIG`` reaches only a direct child and fires when the
*thread* that started it ends (the pool starts servers from threads), so instead this small
watchdog is what the server starts, in a session of its own: it starts the command in its process
group and, as soon as its parent is gone (its parent pid changes) or it is asked to stop, kills the
whole group with SIGKILL — soffice.bin included, whatever signals it ignores. When the command
exits, the watchdog ends the same way, taking any strays with it.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

POLL_SECONDS = 0.2


def command(parent_pid: int, cmd: list[str]) -> list[str]:
    """``cmd`` wrapped in the watchdog; start it with ``start_new_session=True``."""
    return [
        sys.executable,
        "-m",
        "metrolab.engine.documents.deathwatch",
        str(parent_pid),
        "--",
        *cmd,
    ]


def environment(env: dict[str, str]) -> dict[str, str]:
    """``env`` with this package importable by the watchdog's interpreter."""
    package_root = str(Path(__file__).resolve().parents[3])
    out = dict(env)
    out["PYTHONPATH"] = os.pathsep.join(filter(None, [package_root, env.get("PYTHONPATH")]))
    return out


def _kill_group() -> None:
    os.killpg(os.getpgrp(), signal.SIGKILL)  # this process too: nothing of the group survives


def main(argv: list[str]) -> int:  # noqa: RET503 - it ends by killing its own group
    if len(argv) < 4 or argv[2] != "--":
        print("usage: deathwatch PARENT_PID -- command …", file=sys.stderr)
        return 2
    parent = int(argv[1])
    if os.getppid() != parent:  # the server died before we got here
        return 1
    if os.getpgrp() != os.getpid():  # not started in a session of its own: make a group
        os.setpgid(0, 0)
    for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(signum, lambda *_: _kill_group())
    child = subprocess.Popen(argv[3:], stdin=subprocess.DEVNULL)
    while True:
        if child.poll() is not None or os.getppid() != parent:
            _kill_group()  # the command's strays with it
        time.sleep(POLL_SECONDS)


if __name__ == "__main__":
    sys.exit(main(sys.argv))
