"""`oms serve` that tells how much CPU time each of its threads used, for `bench.fix_load
--threads`.

    .venv/bin/python -m bench.serve_threads --report FILE [oms arguments, e.g. serve ...]

SIGUSR2 marks a start; SIGUSR1 writes, as JSON to FILE, the CPU seconds (user and system)
each thread has used since the mark. Threads started by Python are named as the OMS names
them (oms-engine, audit-writer, fix-out-CLIENT1, ...); threads quickfix starts in C++ (a
session's socket thread, which runs its callbacks) carry no Python name and are summed as
"quickfix threads". Python 3.11 does not name threads for the OS, so this cannot be read
from outside the process. Linux only (/proc/self/task).
"""

from __future__ import annotations

import json
import os
import signal
import sys
import threading
from collections.abc import Sequence
from pathlib import Path
from types import FrameType

QUICKFIX_THREADS = "quickfix threads"


def thread_cpu_seconds() -> dict[str, float]:
    """CPU seconds so far of every thread of this process, by thread name."""
    names = {thread.native_id: thread.name for thread in threading.enumerate()}
    ticks = os.sysconf("SC_CLK_TCK")
    used: dict[str, float] = {}
    for task in Path("/proc/self/task").iterdir():
        try:
            stat = (task / "stat").read_text()
        except OSError:
            continue  # the thread ended meanwhile
        # After the command name: utime and stime are the 12th and 13th fields.
        fields = stat.rsplit(")", 1)[1].split()
        name = names.get(int(task.name), QUICKFIX_THREADS)
        used[name] = used.get(name, 0.0) + (int(fields[11]) + int(fields[12])) / ticks
    return used


class ThreadReport:
    """Signal handlers: SIGUSR2 marks, SIGUSR1 writes the CPU used since the mark."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._mark: dict[str, float] = {}

    def install(self) -> None:
        signal.signal(signal.SIGUSR2, self._on_mark)
        signal.signal(signal.SIGUSR1, self._on_report)

    def _on_mark(self, signum: int, frame: FrameType | None) -> None:
        self._mark = thread_cpu_seconds()

    def _on_report(self, signum: int, frame: FrameType | None) -> None:
        now = thread_cpu_seconds()
        since = {name: now[name] - self._mark.get(name, 0.0) for name in now}
        partial = self.path.with_suffix(".partial")
        partial.write_text(json.dumps(since), encoding="utf-8")
        partial.replace(self.path)


def main(argv: Sequence[str] | None = None) -> int:
    arguments = list(sys.argv[1:] if argv is None else argv)
    if len(arguments) < 2 or arguments[0] != "--report":
        print(__doc__, file=sys.stderr)
        return 2
    ThreadReport(Path(arguments[1])).install()
    from oms.cli import main as oms_main

    return oms_main(arguments[2:])


if __name__ == "__main__":
    raise SystemExit(main())
