"""How much this machine can run at once: its cores and its memory, read once per question.

Both `run --jobs` (proxies of one release at once) and `matrix --jobs` (releases at once) size
their default from here, each with its own memory per job.
"""

from __future__ import annotations

import os
from pathlib import Path

_MEMINFO = Path("/proc/meminfo")


def cores() -> int:
    """The cores this process may use (its CPU affinity where the platform says, else all)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


def total_memory_gib() -> float | None:
    """The machine's physical memory in GiB, None where the platform does not say."""
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    except (ValueError, OSError, AttributeError):
        return None


def available_memory_gib(meminfo: Path = _MEMINFO) -> float | None:
    """Memory that can be used now without swapping (Linux `MemAvailable`), else the total."""
    try:
        for line in meminfo.read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) / 2**20  # kB
    except (OSError, ValueError, IndexError):
        pass
    return total_memory_gib()


def jobs_that_fit(per_job_gib: float, cpu_count: int | None = None, memory_gib: float | None = None) -> int:
    """One job per core, as many as `memory_gib` holds at `per_job_gib` each; at least one.

    Unknown memory does not limit; a machine too small for even one job still gets one (the
    job then finds out for itself, with its own error).
    """
    count = cpu_count if cpu_count is not None else cores()
    by_memory = int(memory_gib // per_job_gib) if memory_gib else count
    return max(1, min(count, by_memory))
