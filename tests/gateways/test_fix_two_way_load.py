"""Two clients trading at each other as fast as they can through the OMS, with the durable
audit log: no deadlock, every order answered, the sessions still up, and both sides' fills
equal; then the same while a third client has stopped reading.

No timing is asserted: the deadline only tells a deadlock from a slow machine.
"""

from __future__ import annotations

import socket
import threading
import time
from collections import Counter
from pathlib import Path

from fixclient import FixTestClient, RawFixConnection
from running_oms import RunningOms

from gateways.fix.initiator import Received

ORDERS_PER_CLIENT = 1500
# Generous: a deadlock shows as answers that never come, not as a slow run.
DEADLINE_SECONDS = 180.0
# Every buy price is at or above every sell price, so whatever rests is crossed by the next
# order of the other side, and with equal totals both books end empty: every order fills.
BUY_PRICES = ("190.00", "190.01", "190.02")
SELL_PRICES = ("189.98", "189.99", "190.00")
QUANTITIES = (100, 200, 300)


class Ledger:
    """What one client sent and what the OMS answered about it, by ClOrdID."""

    def __init__(self, client: FixTestClient, side: str) -> None:
        self.client = client
        self.side = side
        self.quantities: dict[str, int] = {}
        self.acknowledged: Counter[str] = Counter()
        self.filled: Counter[str] = Counter()
        self.unexpected: list[Received] = []

    def send_all(self, prices: tuple[str, ...]) -> None:
        """Send every order without waiting for any answer."""
        for index in range(ORDERS_PER_CLIENT):
            quantity = QUANTITIES[index % len(QUANTITIES)]
            price = prices[index % len(prices)]
            cl_ord_id = self.client.new_id()
            # Noted before the send: the answer may arrive before `new_order` returns.
            self.quantities[cl_ord_id] = quantity
            self.client.new_order(self.side, str(quantity), "AAPL", price, cl_ord_id=cl_ord_id)

    def take(self, message: Received) -> None:
        """Count an answer: ExecutionReport New (150=0) or Trade (150=F); anything else is
        unexpected."""
        cl_ord_id = message.get(11) or ""
        exec_type = message.get(150)
        if message.msg_type != "8" or cl_ord_id not in self.quantities:
            self.unexpected.append(message)
        elif exec_type == "0":
            self.acknowledged[cl_ord_id] += 1
        elif exec_type == "F":
            self.filled[cl_ord_id] += int(message[32])
        else:
            self.unexpected.append(message)

    @property
    def sent_everything(self) -> bool:
        return len(self.quantities) == ORDERS_PER_CLIENT

    @property
    def answered(self) -> int:
        """Orders acknowledged and filled in full so far."""
        return sum(
            1
            for cl_ord_id, quantity in self.quantities.items()
            if self.acknowledged[cl_ord_id] and self.filled[cl_ord_id] == quantity
        )

    @property
    def done(self) -> bool:
        return self.sent_everything and self.answered == ORDERS_PER_CLIENT


def trade_until_answered(buyer: FixTestClient, seller: FixTestClient) -> tuple[Ledger, Ledger]:
    """Both clients send all their orders at once, each from a thread of its own; this
    thread reads both until every order is acknowledged and filled, or the deadline."""
    buys, sells = Ledger(buyer, "1"), Ledger(seller, "2")
    senders = [
        threading.Thread(target=buys.send_all, args=(BUY_PRICES,), name="buyer"),
        threading.Thread(target=sells.send_all, args=(SELL_PRICES,), name="seller"),
    ]
    for sender in senders:
        sender.start()
    deadline = time.monotonic() + DEADLINE_SECONDS
    try:
        while not (buys.done and sells.done) and time.monotonic() < deadline:
            for ledger in (buys, sells):
                message = ledger.client.receive(0.05)
                while message is not None:
                    ledger.take(message)
                    message = ledger.client.receive(0)
    finally:
        for sender in senders:
            sender.join(timeout=10)
    assert buys.done and sells.done, (
        f"not every order was answered within {DEADLINE_SECONDS:g} s: buys "
        f"{buys.answered}/{len(buys.quantities)}, sells {sells.answered}/{len(sells.quantities)}"
    )
    return buys, sells


def check_outcome(buys: Ledger, sells: Ledger) -> None:
    for ledger in (buys, sells):
        assert ledger.client.is_logged_on, f"{ledger.client.sender_comp_id} was logged out"
        assert not ledger.unexpected, "\n".join(str(m) for m in ledger.unexpected[:5])
        assert set(ledger.acknowledged.values()) == {1}, "an order was acknowledged twice"
        overfilled = [c for c, q in ledger.quantities.items() if ledger.filled[c] > q]
        assert not overfilled, f"filled beyond OrderQty: {overfilled[:5]}"
    bought, sold = sum(buys.filled.values()), sum(sells.filled.values())
    assert bought == sold == sum(buys.quantities.values()) == sum(sells.quantities.values())


def test_two_clients_crossing_as_fast_as_they_can_get_every_answer_and_matching_fills(
    tmp_path: Path,
) -> None:
    with (
        RunningOms(tmp_path, audit_mode="durable") as oms,
        oms.client("CLIENT1") as buyer,
        oms.client("CLIENT2") as seller,
    ):
        buys, sells = trade_until_answered(buyer, seller)
        check_outcome(buys, sells)


def test_a_third_client_that_stops_reading_does_not_hold_up_the_two_trading(
    tmp_path: Path,
) -> None:
    with RunningOms(tmp_path, audit_mode="durable") as oms:
        # CLIENT3 (FIX 4.2) logs on, rests orders that each earn it a report, and never
        # reads again; a small receive buffer makes the OMS's sends to it block soon.
        stalled = RawFixConnection(oms.port, "CLIENT3", begin_string="FIX.4.2")
        stalled.socket.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        try:
            stalled.logon()
            assert stalled.receive() is not None, "CLIENT3's Logon was not answered"
            for seq_num in range(2, 2002):
                stalled.send(
                    "D",
                    seq_num,
                    [
                        (11, f"STALLED-{seq_num}"),
                        (21, "1"),
                        (55, "NVDA"),
                        (54, "1"),
                        (60, "20240603-13:30:00"),
                        (38, "1"),
                        (40, "2"),
                        (44, "110.00"),
                    ],
                )
            with oms.client("CLIENT1") as buyer, oms.client("CLIENT2") as seller:
                buys, sells = trade_until_answered(buyer, seller)
                check_outcome(buys, sells)
            oms.runtime.flush()
            backlog = oms.acceptor.sessions._outboxes["CLIENT3"].backlog
            assert backlog > 0, "CLIENT3 took every report: it never stalled the OMS's sends"
        finally:
            stalled.close()
