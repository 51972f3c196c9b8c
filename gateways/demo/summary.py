"""The demo's summary: what the file held, what was sent, how the OMS answered, how fast."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy

from gateways.demo.flow import CANCEL, EXECUTION, NEW, REPLACE, STALE_CANCEL
from gateways.lobster import EventType

if TYPE_CHECKING:
    from gateways.demo.command import DemoOutcome

_SHOWN_REJECT_REASONS = 5


def latency_percentiles(latencies: list[float]) -> dict[str, float]:
    """p50, p90, p99 and max of the ack latencies, in seconds (empty when none)."""
    if not latencies:
        return {}
    values = numpy.asarray(latencies)
    p50, p90, p99 = numpy.percentile(values, [50, 90, 99])
    return {"p50": float(p50), "p90": float(p90), "p99": float(p99), "max": float(values.max())}


def summary_lines(outcome: DemoOutcome) -> list[str]:
    plan = outcome.plan
    result = outcome.result
    config = outcome.config
    events = " · ".join(
        f"{kind.label} {plan.events[kind]:,}" for kind in EventType if plan.events[kind]
    )
    skipped = sum(plan.skipped.values())
    lines = [
        f"LOBSTER file  {outcome.options.lobster.name}: {plan.event_count:,} events "
        f"from {_clock(plan.first_time_ns)} to {_clock(plan.last_time_ns)}",
        f"  {events}",
        f"  not replayed {skipped:,}"
        + "".join(f"; {count:,} {why}" for why, count in plan.skipped.most_common()),
        f"OMS           in this process, FIX acceptor on port {config.fix.port}, sessions "
        f"{', '.join(s.sender_comp_id for s in config.fix.sessions)}; audit log "
        f"{config.audit.mode}",
    ]
    sent = sum(result.sent.values())
    rate = sent / result.seconds if result.seconds > 0 else 0.0
    canceled = result.received["ExecutionReport Canceled"] - result.unfilled_executions
    lines += [
        f"Requests      {sent:,} in {result.seconds:.1f} s: {rate:,.0f} requests/s, "
        f"{result.messages:,} messages received",
        f"  orders {result.sent[NEW]:,} (one per submit) · cancels {result.sent[CANCEL]:,}"
        f" · replaces {result.sent[REPLACE]:,} · IOC orders replaying executions "
        f"{result.sent[EXECUTION]:,}",
        f"  and {result.sent[STALE_CANCEL]:,} cancels of orders the file stopped showing "
        "(see gateways/demo/flow.py)",
        f"Answers       new {result.received['ExecutionReport New']:,} · canceled "
        f"{canceled:,} · replaced {result.received['ExecutionReport Replaced']:,}",
        f"  fills {result.execution_fills + result.fills:,}: {result.execution_fills:,} of "
        f"IOC orders ({result.execution_fill_quantity:,} shares of the file's "
        f"{plan.execution_quantity:,} executed), {result.fills:,} of resting orders "
        f"({result.fill_quantity:,} shares); {result.unfilled_executions:,} IOC remainders "
        "canceled",
        f"  rejects {sum(result.rejects.values()):,}",
    ]
    for reason, count in result.rejects.most_common(_SHOWN_REJECT_REASONS):
        lines.append(f"    {count:,} {reason}, e.g. {result.reject_examples[reason]}")
    percentiles = latency_percentiles(result.latencies)
    if percentiles:
        lines.append(
            "Ack latency   "
            + " · ".join(f"{name} {_ms(value)}" for name, value in percentiles.items())
            + f" (send to first answer, {len(result.latencies):,} requests, "
            f"{outcome.options.in_flight} in flight at most)"
        )
    where = "not written"
    if config.audit.mode != "off":
        where = f"{_megabytes(config.audit.directory)} in {config.audit.directory}"
    lines += [
        f"Audit log     {outcome.audit_events:,} events, {where}",
        f"OMS log       {outcome.log_file}",
        f"Wall time     {outcome.wall_seconds:.1f} s",
    ]
    return lines


def _megabytes(directory: Path) -> str:
    size = sum(path.stat().st_size for path in directory.rglob("*") if path.is_file())
    return f"{size / 1_000_000:,.1f} MB"


def _ms(seconds: float) -> str:
    milliseconds = seconds * 1000
    return f"{milliseconds:.2f} ms" if milliseconds < 10 else f"{milliseconds:.1f} ms"


def _clock(time_ns: int | None) -> str:
    if time_ns is None:
        return "-"
    seconds, nanos = divmod(time_ns, 1_000_000_000)
    hours, rest = divmod(seconds, 3600)
    return f"{hours:02d}:{rest // 60:02d}:{rest % 60:02d}.{nanos // 1_000_000:03d}"
