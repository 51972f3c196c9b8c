"""`oms order`: the trader's FIX client. It logs on, sends one request, prints each answer
as one line, waits until the request is answered (or --wait seconds), and logs out.

    oms order new buy 100 AAPL 190.00
    ExecutionReport ClOrdID=... OrderID=O2 ExecType=New OrdStatus=New Side=Buy ...

Sequence numbers are kept in memory and reset at each Logon (see
`gateways.fix.initiator`), so the client needs no state between runs.

A cancel or a replace must restate the order's Side(54) and Symbol(55), and a replace its
OrdType(40), which the command line does not give. The client asks the OMS first with an
OrderStatusRequest (35=H) and copies them from the answer. That request must carry a Side
(and, in FIX 4.2, a Symbol) although the client does not know them yet: it sends Buy and
NA. The OMS finds an order by ClOrdID alone and answers with the order's real terms.

Exit status: 0 when the request was answered and taken, 1 when it was refused (Rejected,
OrderCancelReject, a session or business reject), 2 when no answer came (no connection, no
Logon, or --wait ran out) or the arguments are unusable.
"""

from __future__ import annotations

import argparse
import secrets
import socket
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime

from gateways.fix.initiator import FixInitiator, Received
from gateways.fix.session import FixSetupError
from gateways.fix.wire import format_utc_timestamp, parse_utc_timestamp
from oms.model import CxlRejReason, ExecType, OrdRejReason, OrdStatus

ANSWERED, REFUSED, NO_ANSWER = 0, 1, 2

_SIDES = {"buy": "1", "sell": "2", "short": "5", "short-exempt": "6"}
_ORD_TYPES = {"market": "1", "limit": "2", "stop": "3", "stop-limit": "4"}
_TIME_IN_FORCE = {"day": "0", "gtc": "1", "ioc": "3", "fok": "4", "gtd": "6"}
# After the answer, reports that follow at once (the fills of a marketable order) still print.
_FOLLOW_UP_SECONDS = 0.3


class UsageError(ValueError):
    """Arguments that do not make a request."""


def main(args: argparse.Namespace) -> int:
    # quickfix would retry a refused connection until the logon timeout; say so at once.
    try:
        socket.create_connection((args.host, args.port), timeout=2).close()
    except OSError as error:
        print(f"no session: cannot connect to {args.host}:{args.port}: {error}",
              file=sys.stderr)
        return NO_ANSWER
    begin_string = f"FIX.{args.fix}"
    client = FixInitiator(args.host, args.port, args.sender, args.target, begin_string)
    try:
        client.connect(timeout=min(max(args.wait, 1.0), 10.0))
    except FixSetupError as error:
        print(f"no session: {error}", file=sys.stderr)
        return NO_ANSWER
    try:
        return _run(client, args, time.monotonic() + args.wait)
    except UsageError as error:
        print(f"oms order {args.action}: {error}", file=sys.stderr)
        return NO_ANSWER
    finally:
        client.close()


def _run(client: FixInitiator, args: argparse.Namespace, deadline: float) -> int:
    fix42 = client.begin_string == "FIX.4.2"
    action = args.action
    if action == "new":
        cl_ord_id = args.cl_ord_id or new_cl_ord_id()
        seq_num = client.send("D", new_order_fields(args, cl_ord_id))
        return _await(client, deadline, _answers_new(cl_ord_id, seq_num), fix42)
    if action == "status":
        seq_num = client.send("H", _status_fields(args.cl_ord_id, fix42))
        return _await(client, deadline, _answers_status(args.cl_ord_id, seq_num), fix42)

    # Cancel and replace: learn the order's Side, Symbol and OrdType first.
    probe = client.send("H", _status_fields(args.orig_cl_ord_id, fix42))
    status: list[Received] = []
    outcome = _await(client, deadline, _answers_status(args.orig_cl_ord_id, probe), fix42,
                     keep=status.append)
    if outcome != ANSWERED or not status:
        return outcome
    order = status[-1]
    cl_ord_id = args.cl_ord_id or new_cl_ord_id()
    if action == "cancel":
        fields = [(41, args.orig_cl_ord_id), (11, cl_ord_id), (55, order[55]),
                  (54, order[54]), (60, _now())]
        if 38 in order.fields:
            fields.append((38, order[38]))
        seq_num = client.send("F", fields)
        done = ExecType.CANCELED.value
    else:
        fields = [(41, args.orig_cl_ord_id), (11, cl_ord_id), (21, "1"), (55, order[55]),
                  (54, order[54]), (60, _now()), (38, args.quantity), (40, order[40])]
        price = args.price or order.get(44)
        if price is not None:
            fields.append((44, price))
        if 59 in order.fields:
            fields.append((59, order[59]))
        seq_num = client.send("G", fields)
        done = ExecType.REPLACED.value
    return _await(client, deadline, _answers_change(cl_ord_id, seq_num, done), fix42)


# Requests.


def new_cl_ord_id() -> str:
    """A ClOrdID a trader can read back and type: the UTC date and time, and 4 random hex
    digits so that two runs in the same second do not collide."""
    return datetime.now(UTC).strftime("%Y%m%d-%H%M%S-") + secrets.token_hex(2)


def new_order_fields(args: argparse.Namespace, cl_ord_id: str) -> list[tuple[int, str]]:
    """NewOrderSingle (35=D) from the `new` arguments; UsageError when they do not fit."""
    ord_type_name = args.type or ("limit" if args.price is not None else "market")
    if ord_type_name in ("limit", "stop-limit") and args.price is None:
        raise UsageError(f"a {ord_type_name} order needs a price")
    if ord_type_name in ("market", "stop") and args.price is not None:
        raise UsageError(f"a {ord_type_name} order takes no price")
    if ord_type_name in ("stop", "stop-limit") and args.stop is None:
        raise UsageError(f"a {ord_type_name} order needs --stop")
    # HandlInst(21)=1 (automated, private) is required in FIX 4.2 and harmless in 4.4.
    fields = [(11, cl_ord_id), (21, "1"), (55, args.symbol), (54, _SIDES[args.side]),
              (60, _now()), (38, args.quantity), (40, _ORD_TYPES[ord_type_name])]
    if args.price is not None:
        fields.append((44, args.price))
    if args.stop is not None:
        fields.append((99, args.stop))
    fields.append((59, _TIME_IN_FORCE[args.tif]))
    if args.tif == "gtd":
        if args.expire is None:
            raise UsageError("a GTD order needs --expire YYYYMMDD-HH:MM:SS")
        try:
            parse_utc_timestamp(args.expire)
        except ValueError:
            raise UsageError(f"--expire {args.expire} is not YYYYMMDD-HH:MM:SS") from None
        fields.append((126, args.expire))
    if args.account:
        fields.append((1, args.account))
    return fields


def _status_fields(cl_ord_id: str, fix42: bool) -> list[tuple[int, str]]:
    # Side(54) is required (and Symbol(55) in 4.2); the OMS goes by ClOrdID(11) alone.
    fields = [(11, cl_ord_id), (54, "1")]
    if fix42:
        fields.append((55, "NA"))
    return fields


def _now() -> str:
    return format_utc_timestamp(time.time_ns())


# Answers: each predicate says whether a message ends the wait, and how.

Verdict = Callable[[Received], int | None]


def _session_refusal(message: Received, seq_num: int) -> int | None:
    """A session Reject or a BusinessMessageReject of our request (by RefSeqNum(45))."""
    if message.msg_type in ("3", "j") and message.get(45) == str(seq_num):
        return REFUSED
    return None


def _answers_new(cl_ord_id: str, seq_num: int) -> Verdict:
    def verdict(message: Received) -> int | None:
        if message.msg_type == "8" and message.get(11) == cl_ord_id:
            if message.get(150) == ExecType.PENDING_NEW.value:
                return None
            return REFUSED if message.get(150) == ExecType.REJECTED.value else ANSWERED
        return _session_refusal(message, seq_num)

    return verdict


def _answers_status(cl_ord_id: str, seq_num: int) -> Verdict:
    def verdict(message: Received) -> int | None:
        if message.msg_type == "8" and message.get(11) == cl_ord_id:
            unknown = message.get(39) == OrdStatus.REJECTED.value and message.get(37) == "NONE"
            return REFUSED if unknown else ANSWERED
        return _session_refusal(message, seq_num)

    return verdict


def _answers_change(cl_ord_id: str, seq_num: int, done: str) -> Verdict:
    def verdict(message: Received) -> int | None:
        if message.get(11) != cl_ord_id:
            return _session_refusal(message, seq_num)
        if message.msg_type == "9":
            return REFUSED
        if message.msg_type == "8" and message.get(150) == done:
            return ANSWERED
        return None

    return verdict


def _await(client: FixInitiator, deadline: float, verdict: Verdict, fix42: bool,
           keep: Callable[[Received], None] | None = None) -> int:
    """Print what arrives until `verdict` decides (then briefly what follows at once)."""
    outcome: int | None = None
    follow_up = 0.0
    while True:
        now = time.monotonic()
        if outcome is not None and now >= follow_up:
            return outcome
        left = (follow_up if outcome is not None else deadline) - now
        if left <= 0:
            print(f"no answer within the wait ({client.sender_comp_id})", file=sys.stderr)
            return NO_ANSWER
        message = client.receive(left)
        if message is None:
            continue
        print(describe(message, fix42), flush=True)
        if message.msg_type == "5":
            return outcome if outcome is not None else NO_ANSWER
        if outcome is None:
            outcome = verdict(message)
            if outcome is not None:
                if keep is not None:
                    keep(message)
                follow_up = time.monotonic() + _FOLLOW_UP_SECONDS


# One readable line per message.

_SIDE_NAMES = {"1": "Buy", "2": "Sell", "5": "Sell Short", "6": "Sell Short Exempt"}
_FIX42_EXEC_TYPES = {"1": "Partial fill", "2": "Fill"}
_BUSINESS_REJECT_REASONS = {
    "0": "Other", "1": "Unknown ID", "2": "Unknown security", "3": "Unsupported message type",
    "4": "Application not available", "5": "Conditionally required field missing",
    "6": "Not authorized",
}
_RESPONSE_TO = {"1": "Cancel", "2": "Replace"}


def describe(message: Received, fix42: bool = False) -> str:
    """One line naming the message and its fields in FIX words."""
    get = message.get
    kind = message.msg_type
    if kind == "8":
        parts = ["ExecutionReport", *_pairs(message, ((11, "ClOrdID"), (41, "OrigClOrdID"),
                                                       (37, "OrderID")))]
        exec_type = get(150) or ""
        label = _FIX42_EXEC_TYPES.get(exec_type) if fix42 else None
        parts.append(f"ExecType={label or _label(ExecType, exec_type)}")
        parts.append(f"OrdStatus={_label(OrdStatus, get(39) or '')}")
        if get(54):
            parts.append(f"Side={_SIDE_NAMES.get(get(54) or '', get(54))}")
        parts += _pairs(message, ((55, "Symbol"), (38, "OrderQty"), (44, "Price"),
                                  (99, "StopPx"), (14, "CumQty"), (151, "LeavesQty")))
        if get(32) and get(32) != "0":
            parts.append(f"LastQty={get(32)}@{get(31)}")
        parts += _pairs(message, ((6, "AvgPx"),))
        if get(103):
            parts.append(f"OrdRejReason={_reason(OrdRejReason, get(103) or '')}")
    elif kind == "9":
        parts = ["OrderCancelReject", *_pairs(message, ((11, "ClOrdID"), (41, "OrigClOrdID"),
                                                         (37, "OrderID")))]
        parts.append(f"OrdStatus={_label(OrdStatus, get(39) or '')}")
        parts.append(f"CxlRejResponseTo={_RESPONSE_TO.get(get(434) or '', get(434))}")
        if get(102):
            parts.append(f"CxlRejReason={_reason(CxlRejReason, get(102) or '')}")
    elif kind == "3":
        parts = ["Reject", *_pairs(message, ((45, "RefSeqNum"), (372, "RefMsgType"),
                                              (371, "RefTagID"), (373, "SessionRejectReason")))]
    elif kind == "j":
        parts = ["BusinessMessageReject", *_pairs(message, ((45, "RefSeqNum"),
                                                             (372, "RefMsgType"),
                                                             (379, "BusinessRejectRefID")))]
        reason = get(380) or ""
        parts.append(f"BusinessRejectReason={_BUSINESS_REJECT_REASONS.get(reason, reason)}")
    elif kind == "5":
        parts = ["Logout"]
    else:
        parts = [f"MsgType={kind}", str(message)]
    if get(58):
        parts.append(f"Text={get(58)}")
    return " ".join(parts)


def _pairs(message: Received, names: tuple[tuple[int, str], ...]) -> list[str]:
    return [f"{name}={message.get(tag)}" for tag, name in names if message.get(tag)]


def _label(kind: type[ExecType] | type[OrdStatus], code: str) -> str:
    try:
        return kind(code).label
    except ValueError:
        return code


def _reason(kind: type[OrdRejReason] | type[CxlRejReason], code: str) -> str:
    try:
        return kind(int(code)).name.replace("_", " ").capitalize()
    except ValueError:
        return code
