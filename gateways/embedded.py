"""The embedded venue: the OMS's default venue, a matching engine per instrument in-process.

It speaks the engine's `Venue` interface and answers synchronously: every callback of a
matching engine becomes one `VenueReport` handed to the engine's report sink (the engine
queues them and applies them after the decision that caused them).
"""

from __future__ import annotations

import itertools
import logging
import time
from collections.abc import Callable

from gateways.simvenue.matching import MatchingEngine, SelfMatchPolicy
from oms.model import CxlRejReason, ExecID, OrderID, Symbol, VenueName, VenueOrderID
from oms.order import Order, OrderTerms
from oms.refdata import Instrument
from oms.reports import ReportSink, VenueReport
from oms.reports import VenueReportKind as R

log = logging.getLogger(__name__)


class EmbeddedVenue:
    """A price-time matching venue for every instrument, keyed by our OrderID."""

    def __init__(
        self,
        name: VenueName,
        instruments: dict[Symbol, Instrument],
        sink: ReportSink,
        *,
        clock: Callable[[], int] = time.time_ns,
        self_match: SelfMatchPolicy = SelfMatchPolicy.CANCEL_INCOMING,
    ) -> None:
        self.name = name
        self._instruments = instruments
        self._sink = sink
        self._clock = clock
        self._self_match = self_match
        self._engines: dict[Symbol, MatchingEngine] = {}
        trades = itertools.count(1)
        # Trade ids must not repeat after a restart (the engine applies a venue ExecID
        # once), so each run of the venue prefixes them with a generation (see restart).
        self.generation = 0
        self._trade_ids = lambda: f"T{self.generation}.{next(trades)}"
        # Orders restored after a restart: the fills they had before it, which the
        # matching engine (empty after the restart) does not know about.
        self._filled_before: dict[OrderID, int] = {}
        self._restoring = False

    def engine(self, symbol: Symbol) -> MatchingEngine:
        engine = self._engines.get(symbol)
        if engine is None:
            instrument = self._instruments[symbol]
            engine = MatchingEngine(
                symbol,
                instrument.tick,
                self,
                trade_ids=self._trade_ids,
                clock=self._clock,
                self_match=self._self_match,
            )
            self._engines[symbol] = engine
        return engine

    # The engine's Venue interface.

    def submit(self, order: Order) -> None:
        terms = order.terms
        self.engine(terms.symbol).submit(
            order.order_id,
            terms.account,
            terms.side,
            terms.ord_type,
            terms.time_in_force,
            terms.quantity - order.cum_quantity,
            terms.price,
            terms.stop_price,
            expire_time_ns=terms.expire_time_ns,
        )

    def cancel(self, order: Order) -> None:
        self.engine(order.terms.symbol).cancel(order.order_id)

    def replace(self, order: Order, terms: OrderTerms) -> None:
        before = self._filled_before.get(order.order_id, 0)
        self.engine(terms.symbol).replace(
            order.order_id, max(terms.quantity - before, 0), terms.price, terms.stop_price
        )

    def request_status(self, order: Order) -> None:
        view = self.engine(order.terms.symbol).order(order.order_id)
        self._sink(VenueReport(
            R.STATUS, order.order_id, self.name,
            cum_quantity=(view.filled if view else None),
            quantity=(view.quantity if view else None),
        ))

    # Operator commands.

    def end_of_day(self) -> None:
        """The trading day ends: every resting Day order is Done for Day."""
        for engine in self._engines.values():
            engine.end_of_day()

    def expire(self, now_ns: int) -> None:
        for engine in self._engines.values():
            engine.expire(now_ns)

    def restart(self, generation: int) -> None:
        """Start a new run after a restart; `generation` must exceed every earlier one's."""
        self.generation = generation

    def restore(self, order: Order) -> None:
        """Put a live order back after a restart (no acknowledgement is reported)."""
        self._filled_before[order.order_id] = order.cum_quantity
        self._restoring = True
        try:
            self.submit(order)
        finally:
            self._restoring = False

    def depth(self, symbol: Symbol, levels: int = 5) -> tuple[list[tuple[int, int, int]], ...]:
        engine = self._engines.get(symbol)
        return engine.depth(levels) if engine is not None else ([], [])

    # The matching engines' listener.

    def on_accepted(self, ref: str) -> None:
        if not self._restoring:
            self._sink(VenueReport(R.ACKNOWLEDGED, OrderID(ref), self.name, VenueOrderID(ref)))

    def on_rejected(self, ref: str, reason: str) -> None:
        self._sink(VenueReport(R.REJECTED, OrderID(ref), self.name, text=reason))

    def on_fill(
        self, ref: str, quantity: int, price: int, trade_id: str, leaves: int, contra_ref: str
    ) -> None:
        self._sink(VenueReport(
            R.FILL, OrderID(ref), self.name, None, ExecID(f"{trade_id}.{ref}"),
            last_quantity=quantity, last_price=price,
        ))

    def on_canceled(self, ref: str, leaves: int, reason: str) -> None:
        self._sink(VenueReport(R.CANCELED, OrderID(ref), self.name, text=reason))

    def on_replaced(self, ref: str, quantity: int, price: int | None, leaves: int) -> None:
        self._sink(VenueReport(R.REPLACED, OrderID(ref), self.name, quantity=quantity,
                               price=price))

    def on_cancel_rejected(self, ref: str, reason: str) -> None:
        # The matching engine refuses only orders that are no longer working.
        self._sink(VenueReport(
            R.CANCEL_REJECTED, OrderID(ref), self.name,
            reason=int(CxlRejReason.TOO_LATE_TO_CANCEL), text=reason,
        ))

    def on_triggered(self, ref: str) -> None:
        log.info("stop triggered: order=%s", ref)

    def on_done_for_day(self, ref: str, leaves: int) -> None:
        self._sink(VenueReport(R.DONE_FOR_DAY, OrderID(ref), self.name,
                               text="trading day ended"))

    def on_expired(self, ref: str, leaves: int) -> None:
        self._sink(VenueReport(R.EXPIRED, OrderID(ref), self.name, text="ExpireTime reached"))
