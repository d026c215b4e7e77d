"""The machine's CPU while a benchmark runs, from /proc/stat: how many cores were busy between two
readings (``busy_cores(before, cpu_ticks())``)."""

from __future__ import annotations

import os
from pathlib import Path


def cpu_ticks() -> tuple[int, int]:
    """(all, idle) CPU ticks of the machine since boot."""
    ticks = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    return sum(ticks), ticks[3] + ticks[4]


def busy_cores(before: tuple[int, int], after: tuple[int, int]) -> float:
    """Cores kept busy between two ``cpu_ticks`` readings (2.0 = both cores of a 2-core machine)."""
    spent = after[0] - before[0]
    if not spent:
        return 0.0
    return (spent - (after[1] - before[1])) / spent * (os.cpu_count() or 1)
