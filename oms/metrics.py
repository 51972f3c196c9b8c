"""Prometheus metrics of one OMS process, in a registry of its own (labels are bounded).

Counters and histograms are moved by the threads that see what they count. The gauges of
state (open orders, the engine's queue depth, whether the OMS is halted) are read when
scraped, from callables given to `Metrics.track`: nothing has to remember to set them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, start_http_server

from oms.events import Event, EventKind

if TYPE_CHECKING:
    from compliance.risk import RiskChecks

_LATENCY_BUCKETS = (
    0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5, 1.0
)


# Our own denials, the gateway's refusals of unsupported requests among them.
_DENIAL_KINDS = frozenset({
    EventKind.NEW_DENIED, EventKind.CANCEL_DENIED, EventKind.REPLACE_DENIED,
    EventKind.REQUEST_REFUSED,
})


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.events = Counter(
            "oms_events", "Events applied, by kind.", ["kind"], registry=self.registry
        )
        self.denials = Counter(
            "oms_denials",
            "New orders, cancels and replaces denied by the OMS, by kind and check.",
            ["kind", "check"],
            registry=self.registry,
        )
        self.fills = Counter("oms_fill_quantity", "Quantity filled.", registry=self.registry)
        self.open_orders = Gauge(
            "oms_open_orders", "Live orders in the book.", registry=self.registry
        )
        self.queue_depth = Gauge(
            "oms_engine_queue_depth", "Inputs waiting for the engine thread.",
            registry=self.registry,
        )
        self.halted = Gauge(
            "oms_halted",
            "1 while the OMS refuses every request because its audit log failed.",
            registry=self.registry,
        )
        self.engine_seconds = Histogram(
            "oms_engine_input_seconds",
            "Time the engine thread spent on one input (command or venue report).",
            buckets=_LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.ack_seconds = Histogram(
            "oms_ack_latency_seconds",
            "From a client request's arrival to the report that answers it leaving.",
            buckets=_LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.engine_errors = Counter(
            "oms_engine_errors", "Inputs the engine failed on (each answered with a denial).",
            registry=self.registry,
        )
        self.sessions = Gauge(
            "oms_fix_sessions_logged_on", "FIX sessions logged on.", ["side"],
            registry=self.registry,
        )
        self._kinds = {kind: self.events.labels(kind.value) for kind in EventKind}
        self._server: Any = None

    def observe(self, event: Event) -> None:
        self._kinds[event.kind].inc()
        kind = event.kind
        if kind is EventKind.TRADE:
            self.fills.inc(event.last_quantity)
        elif kind in _DENIAL_KINDS:
            check = event.risk.check if event.risk is not None else "validation"
            self.denials.labels(kind.value, check).inc()

    def track(
        self,
        *,
        open_orders: Callable[[], float],
        queue_depth: Callable[[], float],
        halted: Callable[[], float],
    ) -> None:
        """Have the gauges read their values at each scrape (on the scraping thread, so
        the callables must be safe to call from any thread and must not block)."""
        self.open_orders.set_function(open_orders)
        self.queue_depth.set_function(queue_depth)
        self.halted.set_function(halted)

    def serve(self, host: str, port: int) -> int:
        """Expose /metrics over HTTP (prometheus_client's own server); returns the port."""
        server, _ = start_http_server(port, addr=host, registry=self.registry)
        self._server = server
        return int(server.server_address[1])

    def close(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None


def open_order_count(risk: RiskChecks) -> int:
    """Live orders, as the risk checks count them per account (each order is counted when
    it becomes live and uncounted when it is done, live and on recovery alike).

    Read from the scraping thread while the engine thread writes: the accounts are fixed
    at start-up, so the dict never changes size, and each count is one int."""
    return sum(usage.open_orders for usage in list(risk.usage.values()))
