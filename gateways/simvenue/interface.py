"""What the embedded venue's matching engine speaks: its listener, its self-match policies
and the snapshot of a working order it answers queries with.

The listener is called synchronously, in the order things happen; see `matching` for that
order. Reasons are sentences for people (they go into Text(58)); the constants below are
the fixed ones, so that callers can recognise them.
"""

from __future__ import annotations

from enum import StrEnum
from typing import NamedTuple, Protocol, TypeAlias

from oms.model import OrdType, Side, TimeInForce

# The caller's unique reference for an order (the OMS sends its OrderID), the account that
# owns it (for self-match prevention) and the venue's id for one trade.
OrderRef: TypeAlias = str
Owner: TypeAlias = str
TradeID: TypeAlias = str

# One price level of `MatchingEngine.depth`: price, total leaves quantity, order count.
DepthRow: TypeAlias = tuple[int, int, int]

NO_LIQUIDITY = "no liquidity"
IMMEDIATE_OR_CANCEL = "immediate or cancel: remainder canceled"
CANCELED_ON_REQUEST = "canceled on request"


class SelfMatchPolicy(StrEnum):
    """What happens when an order would trade against a resting order of the same owner.

    The three choices most venues offer under "self-match prevention" (for example CME's
    cancel-resting and cancel-aggressing modes): no trade happens in any of them.
    """

    CANCEL_INCOMING = "cancel_incoming"
    CANCEL_RESTING = "cancel_resting"
    CANCEL_BOTH = "cancel_both"


class MatchListener(Protocol):
    """Receives everything the engine does, synchronously, in the order it happens."""

    def on_accepted(self, ref: OrderRef) -> None: ...

    def on_rejected(self, ref: OrderRef, reason: str) -> None: ...

    def on_fill(
        self,
        ref: OrderRef,
        quantity: int,
        price: int,
        trade_id: TradeID,
        leaves: int,
        contra_ref: OrderRef,
    ) -> None: ...

    def on_canceled(self, ref: OrderRef, leaves: int, reason: str) -> None: ...

    def on_replaced(
        self, ref: OrderRef, quantity: int, price: int | None, leaves: int
    ) -> None: ...

    def on_cancel_rejected(self, ref: OrderRef, reason: str) -> None: ...

    def on_triggered(self, ref: OrderRef) -> None: ...

    def on_done_for_day(self, ref: OrderRef, leaves: int) -> None: ...

    def on_expired(self, ref: OrderRef, leaves: int) -> None: ...


class OrderView(NamedTuple):
    """A snapshot of one working order (a resting order or a stop waiting for its trigger).

    `in_book` is True once the order sits in the price book: always for a limit order, and
    for a stop-limit order once its stop has been triggered.
    """

    ref: OrderRef
    owner: Owner
    side: Side
    ord_type: OrdType
    time_in_force: TimeInForce
    quantity: int
    filled: int
    leaves: int
    price: int | None
    stop_price: int | None
    expire_time_ns: int | None
    in_book: bool
