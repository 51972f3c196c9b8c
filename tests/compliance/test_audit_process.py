"""The audit log's writer process: what it writes, its directory lock, and its failures."""

from __future__ import annotations

import dataclasses
import os
import queue
import re
import signal
import threading
import time
import urllib.request
from pathlib import Path

import pytest

from compliance.audit.errors import AuditLogError
from compliance.audit.lock import DirectoryLock
from compliance.audit.process import AuditLogProcess
from compliance.audit.reader import read_events, verify
from compliance.audit.samples import order_flow
from oms.commands import CancelOrder, NewOrder
from oms.config import AuditConfig, OmsConfig, load_config
from oms.events import Event, EventKind
from oms.model import ClOrdID, ExecType, OrdStatus, OrdType, SessionID, Side, Symbol, TimeInForce
from oms.model import price_from_decimal as px
from oms.runtime import Runtime


def config(directory: Path, **settings: object) -> AuditConfig:
    values: dict[str, object] = {"batch_window_ms": 0.2, **settings}
    return AuditConfig(directory=directory, **values)  # type: ignore[arg-type]


def test_appended_events_read_back_in_order_and_chained_after_close(tmp_path: Path) -> None:
    events = order_flow(5000)
    with DirectoryLock(tmp_path) as lock, AuditLogProcess(config(tmp_path), lock) as log:
        for e in events:
            log.append(e)

    assert list(read_events(tmp_path)) == events
    assert verify(tmp_path).ok


def test_flush_returns_once_every_appended_event_is_durable(tmp_path: Path) -> None:
    reported: list[int] = []
    events = order_flow(2000)
    with DirectoryLock(tmp_path) as lock:
        log = AuditLogProcess(
            config(tmp_path, batch_events=128, batch_window_ms=50.0), lock,
            on_durable=reported.append,
        )
        for e in events:
            log.append(e)
        log.flush()

        assert log.durable_seq == events[-1].seq
        assert reported == sorted(set(reported)) and reported[-1] == events[-1].seq
        assert max(e.seq for e in read_events(tmp_path)) == events[-1].seq
        log.close()


def test_a_second_writer_continues_the_sequence_and_the_chain(tmp_path: Path) -> None:
    first, second = order_flow(300), order_flow(300, first_seq=301)
    for events in (first, second):
        with DirectoryLock(tmp_path) as lock, AuditLogProcess(config(tmp_path), lock) as log:
            for e in events:
                log.append(e)

    assert list(read_events(tmp_path)) == first + second
    assert verify(tmp_path).ok


def test_a_directory_being_written_is_refused_naming_the_holder(tmp_path: Path) -> None:
    with DirectoryLock(tmp_path):
        with pytest.raises(AuditLogError, match=rf"another process \(pid {os.getpid()}\)"):
            DirectoryLock(tmp_path, timeout=0.2)


def test_the_lock_is_taken_once_the_holder_releases_it(tmp_path: Path) -> None:
    holder = DirectoryLock(tmp_path)
    threading.Timer(0.3, holder.release).start()

    with DirectoryLock(tmp_path, timeout=10):
        pass


def test_a_killed_writer_fails_the_log_and_says_so(tmp_path: Path) -> None:
    failures: list[BaseException] = []
    with DirectoryLock(tmp_path) as lock:
        log = AuditLogProcess(config(tmp_path), lock, on_failure=failures.append)
        os.kill(log.pid, signal.SIGKILL)

        with pytest.raises(AuditLogError, match="exited"):
            log.wait_durable(1, timeout=10)
        with pytest.raises(AuditLogError):
            log.append(order_flow(1)[0])
        with pytest.raises(AuditLogError):
            log.close()
    assert len(failures) == 1


def test_the_writer_keeps_the_lock_until_it_has_written_what_it_was_sent(
    tmp_path: Path,
) -> None:
    events = order_flow(3000)
    lock = DirectoryLock(tmp_path)
    log = AuditLogProcess(config(tmp_path), lock)
    for e in events:
        log.append(e)
    log.close()
    # The OMS's own hold ends; a new writer may start only after the old one exited.
    lock.release()

    with DirectoryLock(tmp_path, timeout=10):
        assert list(read_events(tmp_path)) == events


# The OMS around a failed log.


def durable_config(directory: Path) -> OmsConfig:
    base = load_config()
    return dataclasses.replace(
        base, audit=config(directory, mode="durable", writer="process")
    )


def buy(cl: str, quantity: int = 100) -> NewOrder:
    return NewOrder(SessionID("CLIENT1"), ClOrdID(cl), None, Symbol("AAPL"), Side.BUY,
                    OrdType.LIMIT, TimeInForce.DAY, quantity, px("189.00"))


def test_an_oms_whose_log_failed_refuses_every_request_naming_the_log(tmp_path: Path) -> None:
    runtime = Runtime(durable_config(tmp_path))
    heard: queue.Queue[Event] = queue.Queue()
    runtime.add_client_sink(heard.put)
    runtime.start()
    try:
        runtime.submit(buy("B1"))
        assert heard.get(timeout=10).exec_type is ExecType.NEW

        os.kill(runtime.audit_writer_pid, signal.SIGKILL)  # type: ignore[arg-type]
        deadline = time.monotonic() + 10
        while runtime.halted is None and time.monotonic() < deadline:
            time.sleep(0.05)
        runtime.submit(buy("B2"))
        runtime.submit(CancelOrder(SessionID("CLIENT1"), ClOrdID("C1"), ClOrdID("B1")))

        rejected = heard.get(timeout=10)
        assert rejected.kind is EventKind.NEW_DENIED
        assert rejected.ord_status is OrdStatus.REJECTED
        assert rejected.cl_ord_id == "B2"
        assert "audit log failed" in str(rejected.text)
        # Never logged, so nothing a restart hands out again.
        assert rejected.order_id == "NONE" and str(rejected.exec_id).startswith("H")
        cancel_rejected = heard.get(timeout=10)
        assert cancel_rejected.kind is EventKind.CANCEL_DENIED
        assert "audit log failed" in str(cancel_rejected.text)
        port = runtime.metrics.serve("127.0.0.1", 0)
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as answer:
            assert re.search(r"^oms_halted 1\.0$", answer.read().decode(), re.MULTILINE)
    finally:
        runtime.metrics.close()
        runtime.stop()

    # What was durable before the failure is all there is: B1, and nothing after it.
    recorded = {e.cl_ord_id for e in read_events(tmp_path)}
    assert "B1" in recorded and "B2" not in recorded
