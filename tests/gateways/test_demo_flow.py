"""The demo's plan: what each LOBSTER event becomes, which events are skipped, stale orders
canceled first, and which requests of two sessions must not overtake each other."""

from __future__ import annotations

from gateways.demo.flow import (
    CANCEL,
    EXECUTION,
    NEW,
    REPLACE,
    SKIP_HALT,
    SKIP_HIDDEN,
    SKIP_NOT_SUBMITTED,
    STALE_CANCEL,
    DemoRequest,
    interacts,
    plan_flow,
)
from gateways.lobster import EventType, LobsterEvent, LobsterOrderID
from oms.model import ClOrdID, Side

PRICE = 2238100  # $223.81 in LOBSTER units


def event(
    kind: int, order_id: int, size: int, price: int = PRICE, direction: int = 1, line: int = 1
) -> LobsterEvent:
    return LobsterEvent(
        line,
        34_200_000_000_000 + line,
        EventType(kind),
        LobsterOrderID(order_id),
        size,
        price,
        direction,
    )


def kinds(requests: list[DemoRequest]) -> list[tuple[str, str]]:
    return [(r.kind, r.cl_ord_id) for r in requests]


def test_a_submit_becomes_a_day_limit_order_with_a_clordid_from_the_lobster_id() -> None:
    plan = plan_flow([event(1, 7, 100)], sessions=2)

    (request,) = plan.requests
    assert (request.kind, request.msg_type, request.cl_ord_id) == (NEW, "D", "L7")
    fields = dict(request.fields("AMZN", "20240102-14:30:00.000"))
    assert fields[54] == "1" and fields[38] == "100" and fields[44] == "223.8100"
    assert fields[40] == "2" and fields[59] == "0"


def test_a_delete_cancels_and_a_partial_cancel_replaces_down_to_what_is_left() -> None:
    plan = plan_flow([event(1, 7, 300), event(2, 7, 100), event(3, 7, 200)], sessions=2)

    assert kinds(plan.requests) == [(NEW, "L7"), (REPLACE, "L7-R1"), (CANCEL, "L7-C")]
    replace, cancel = plan.requests[1], plan.requests[2]
    assert (replace.orig_cl_ord_id, replace.quantity) == ("L7", 200)
    assert cancel.orig_cl_ord_id == "L7-R1"
    assert {r.session for r in plan.requests} == {plan.requests[0].session}


def test_a_partial_cancel_of_all_that_is_left_becomes_a_cancel() -> None:
    plan = plan_flow([event(1, 7, 100), event(2, 7, 100)], sessions=2)

    assert kinds(plan.requests) == [(NEW, "L7"), (CANCEL, "L7-C")]


def test_an_execution_becomes_a_contra_ioc_order_on_the_other_side() -> None:
    plan = plan_flow([event(1, 7, 300), event(4, 7, 120)], sessions=3)

    execution = plan.requests[1]
    assert (execution.kind, execution.cl_ord_id, execution.session) == (EXECUTION, "L7-X1", 3)
    assert execution.side is Side.SELL and execution.resting_side is Side.BUY
    fields = dict(execution.fields("AMZN", "20240102-14:30:00.000"))
    assert fields[38] == "120" and fields[59] == "3"
    assert plan.execution_quantity == 120


def test_hidden_executions_halts_and_orders_from_before_the_file_are_skipped() -> None:
    plan = plan_flow(
        [event(5, 0, 100), event(7, 0, 0, -1), event(3, 99, 100), event(4, 98, 10)],
        sessions=2,
    )

    assert plan.requests == []
    assert plan.skipped == {SKIP_HIDDEN: 1, SKIP_HALT: 1, SKIP_NOT_SUBMITTED: 2}
    assert plan.event_count == 4


def test_a_submit_priced_through_a_live_order_cancels_that_order_first() -> None:
    # The sell at 223.80 must have left the book (behind the best price, unseen in a
    # level-1 file) before a buy at 223.81 could rest.
    plan = plan_flow([event(1, 1, 100, PRICE - 100, -1), event(1, 2, 100, PRICE, 1)], 2)

    assert kinds(plan.requests) == [(NEW, "L1"), (STALE_CANCEL, "L1-S"), (NEW, "L2")]


def test_an_execution_behind_a_live_order_cancels_the_orders_ahead_first() -> None:
    plan = plan_flow([event(1, 1, 100), event(1, 2, 100), event(4, 2, 100)], sessions=2)

    assert kinds(plan.requests) == [
        (NEW, "L1"),
        (NEW, "L2"),
        (STALE_CANCEL, "L1-S"),
        (EXECUTION, "L2-X1"),
    ]


def request(kind: str, resting_side: Side, price: int, session: int = 0) -> DemoRequest:
    side = resting_side
    if kind == EXECUTION:
        side = Side.SELL if resting_side is Side.BUY else Side.BUY
    return DemoRequest(
        0, kind, session, ClOrdID("x"), None, side, resting_side, 100, price, "1", 1
    )


def test_an_execution_interacts_with_orders_it_could_reach_and_new_orders_on_its_side() -> None:
    taker = request(EXECUTION, Side.BUY, PRICE, session=2)

    assert interacts(taker, request(NEW, Side.BUY, PRICE))
    assert interacts(taker, request(CANCEL, Side.BUY, PRICE + 100))
    assert not interacts(taker, request(NEW, Side.BUY, PRICE - 100))
    # A new sell at or below the price could take the buy the execution is for.
    assert interacts(taker, request(NEW, Side.SELL, PRICE))
    assert not interacts(taker, request(NEW, Side.SELL, PRICE + 100))
    assert not interacts(taker, request(CANCEL, Side.SELL, PRICE))


def test_orders_interact_when_they_cross_or_queue_at_one_price() -> None:
    assert interacts(request(NEW, Side.BUY, PRICE), request(NEW, Side.BUY, PRICE))
    assert not interacts(request(NEW, Side.BUY, PRICE), request(CANCEL, Side.BUY, PRICE))
    assert interacts(request(NEW, Side.BUY, PRICE), request(CANCEL, Side.SELL, PRICE))
    assert not interacts(request(NEW, Side.BUY, PRICE), request(NEW, Side.SELL, PRICE + 100))
    assert not interacts(request(CANCEL, Side.BUY, PRICE), request(CANCEL, Side.SELL, PRICE))
