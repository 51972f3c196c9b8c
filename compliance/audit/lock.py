"""One writer per audit log directory, enforced with an advisory lock.

Two writers on one directory would interleave segments and break the hash chain, so the
OMS takes `<directory>/.writer.lock` (flock, exclusive) before it recovers the log and
holds it while it runs. The writer process inherits the same lock (the file descriptor
is handed to it), so after the OMS itself dies its writer, still finishing the events it
was given, keeps the directory until it exits; an OMS restarted meanwhile waits for that.
The kernel releases the lock when the last holder exits, however it exits.
"""

from __future__ import annotations

import fcntl
import logging
import os
import time
from pathlib import Path

from compliance.audit.errors import AuditLogError

log = logging.getLogger(__name__)

LOCK_NAME = ".writer.lock"


class DirectoryLock:
    """The exclusive right to write one audit log directory."""

    def __init__(self, directory: Path, *, timeout: float = 30.0) -> None:
        """Take the lock, waiting up to `timeout` seconds for a previous writer to end."""
        directory.mkdir(parents=True, exist_ok=True)
        self.path = directory / LOCK_NAME
        self._fd: int | None = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        deadline = time.monotonic() + timeout
        waited = False
        while True:
            try:
                fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if not waited:
                    log.warning("the audit log %s is locked by another writer%s; waiting "
                                "up to %g s", directory, _read_holder(self._fd), timeout)
                    waited = True
                if time.monotonic() >= deadline:
                    holder = _read_holder(self._fd)
                    self.release()
                    raise AuditLogError(
                        f"the audit log {directory} is being written by another process"
                        f"{holder}; waited {timeout:g} s for it to finish"
                    ) from None
                time.sleep(0.05)
        # Who holds it, for the message above when a second OMS is started by mistake.
        os.ftruncate(self._fd, 0)
        os.pwrite(self._fd, f"{os.getpid()}\n".encode(), 0)

    @property
    def fd(self) -> int:
        """The locked file's descriptor, to hand to the writer process."""
        if self._fd is None:
            raise AuditLogError("the audit log lock was released")
        return self._fd

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def __enter__(self) -> DirectoryLock:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.release()


def _read_holder(fd: int) -> str:
    try:
        pid = os.pread(fd, 32, 0).decode().strip()
    except (OSError, UnicodeDecodeError):
        return ""
    return f" (pid {pid})" if pid.isdigit() else ""


def writer_active(directory: Path) -> bool:
    """Whether a writer holds the directory's lock now (an OMS running on this log)."""
    try:
        fd = os.open(directory / LOCK_NAME, os.O_RDONLY)
    except FileNotFoundError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)
    return False
