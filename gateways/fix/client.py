"""`oms order`: the trader's FIX client. It logs on, sends one request, prints each answer
as one line, waits until the request is answered (or --wait seconds), and logs out.

    oms order new buy 100 AAPL 190.00
    ExecutionReport ClOrdID=... OrderID=O2 ExecType=New OrdStatus=New Side=Buy ...

Sequence numbers are kept in memory and reset at each Logon (see
`gateways.fix.initiator`), so the client needs no state between runs.

A cancel or a replace must restate the order's Side(54) and Symbol(55), and a replace its
OrdType(40). They come from --side, --symbol and --type when given. What is not given is
looked up first with an OrderStatusRequest (35=H) whose answer is not printed; the OMS finds
an order by ClOrdID alone, so that request carries placeholders (Side Buy, and in FIX 4.2
Symbol NA). The cancel or replace is then sent whatever the lookup said: for an order the
OMS does not know, with the placeholders, and the OMS answers it with an OrderCancelReject
naming the order. Only the answers to the cancel or replace are printed.

Exit status: 0 when the request was answered and taken, 1 when it was refused (Rejected,
OrderCancelReject, a session or business reject), 2 when no answer came (no connection, no
Logon, or --wait ran out: the ClOrdID sent is printed, to ask for later with `oms order
status`) or the arguments are unusable.
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
    if not args.wait > 0:
        print(f"oms order: --wait must be a number of seconds above 0, not {args.wait:g}",
              file=sys.stderr)
        return NO_ANSWER
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
        hint = logon_hint(args.sender, args.target, begin_string,
                          getattr(args, "config", None))
        if hint:
            print(f"hint: {hint}", file=sys.stderr)
        return NO_ANSWER
    try:
        return _run(client, args)
    except UsageError as error:
        print(f"oms order {args.action}: {error}", file=sys.stderr)
        return NO_ANSWER
    finally:
        client.close()


def logon_hint(sender: str, target: str, begin_string: str,
               config_path: str | None) -> str | None:
    """Why a Logon may have gone unanswered, from the sessions of the OMS configuration
    (quickfix drops a Logon naming no session without a word); None if it cannot say."""
    from oms.config import DEFAULT_CONFIG, ConfigError, load_config

    path = config_path or DEFAULT_CONFIG
    try:
        fix = load_config(path).fix
    except (ConfigError, OSError):
        return None
    sessions = {s.sender_comp_id: s.begin_string for s in fix.sessions}
    listed = ", ".join(f"{name} ({version})" for name, version in sessions.items())
    if sender not in sessions:
        return f"{sender} is not a session of {path} (sessions: {listed})"
    if sessions[sender] != begin_string:
        return (f"{sender} is a {sessions[sender]} session in {path}: add --fix "
                f"{sessions[sender].removeprefix('FIX.')} (this Logon was {begin_string})")
    if target != fix.comp_id:
        return f"the OMS of {path} is {fix.comp_id}, not --target {target}"
    return None


def _run(client: FixInitiator, args: argparse.Namespace) -> int:
    fix42 = client.begin_string == "FIX.4.2"
    action = args.action
    if action == "new":
        cl_ord_id = args.cl_ord_id or new_cl_ord_id()
        seq_num = client.send("D", new_order_fields(args, cl_ord_id))
        return _await(client, args.wait, cl_ord_id, _answers_new(cl_ord_id, seq_num), fix42)
    if action == "status":
        seq_num = client.send("H", _status_fields(args.cl_ord_id, fix42))
        return _await(client, args.wait, args.cl_ord_id,
                      _answers_status(args.cl_ord_id, seq_num), fix42)

    # Cancel and replace: the order's Side, Symbol and OrdType from the options, else
    # looked up (see the module docstring).
    order = order_terms(client, args, fix42)
    cl_ord_id = args.cl_ord_id or new_cl_ord_id()
    if action == "cancel":
        fields = [(41, args.orig_cl_ord_id), (11, cl_ord_id), (55, order[55]),
                  (54, order[54]), (60, _now())]
        if 38 in order:
            fields.append((38, order[38]))
        seq_num = client.send("F", fields)
        done = ExecType.CANCELED.value
    else:
        price = args.price or order.get(44)
        ord_type = order.get(40) or (_ORD_TYPES["limit"] if price else _ORD_TYPES["market"])
        fields = [(41, args.orig_cl_ord_id), (11, cl_ord_id), (21, "1"), (55, order[55]),
                  (54, order[54]), (60, _now()), (38, args.quantity), (40, ord_type)]
        if price is not None:
            fields.append((44, price))
        seq_num = client.send("G", fields)
        done = ExecType.REPLACED.value
    return _await(client, args.wait, cl_ord_id, _answers_change(cl_ord_id, seq_num, done),
                  fix42, quiet=_status_answer_of(args.orig_cl_ord_id))


def order_terms(client: FixInitiator, args: argparse.Namespace, fix42: bool
                 ) -> dict[int, str]:
    """Side(54), Symbol(55) and, for a replace, OrdType(40) of the order to cancel or
    replace: the options', the rest from a status answer (not printed), the rest
    placeholders. OrderQty(38) and Price(44) come along when the order is known."""
    terms: dict[int, str] = {}
    if args.side:
        terms[54] = _SIDES[args.side]
    if args.symbol:
        terms[55] = args.symbol
    if getattr(args, "type", None):
        terms[40] = _ORD_TYPES[args.type]
    wanted = (54, 55, 40) if args.action == "replace" else (54, 55)
    if any(tag not in terms for tag in wanted):
        found = _look_up(client, args.orig_cl_ord_id, args.wait, fix42)
        if found is not None:
            for tag in (54, 55, 40, 38, 44):
                value = found.get(tag)
                if value and tag not in terms:
                    terms[tag] = value
    terms.setdefault(54, _SIDES["buy"])
    terms.setdefault(55, "NA")
    return terms


def _look_up(client: FixInitiator, cl_ord_id: str, wait: float, fix42: bool
             ) -> Received | None:
    """The status answer of a known order, or None (unknown, refused, or no answer)."""
    seq_num = client.send("H", _status_fields(cl_ord_id, fix42))
    verdict = _answers_status(cl_ord_id, seq_num)
    deadline = time.monotonic() + wait
    while (left := deadline - time.monotonic()) > 0:
        message = client.receive(left)
        if message is None:
            break
        outcome = verdict(message)
        if outcome is not None:
            return message if outcome == ANSWERED else None
        if message.msg_type == "5":
            break
    return None


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


def _status_answer_of(cl_ord_id: str) -> Callable[[Received], bool]:
    """Whether a message answers a status request for `cl_ord_id`: ExecType(150) I, or in
    FIX 4.2 ExecTransType(20) 3 (a look-up answered after its wait)."""
    def answers(message: Received) -> bool:
        return message.msg_type == "8" and message.get(11) == cl_ord_id and (
            message.get(150) == ExecType.ORDER_STATUS.value or message.get(20) == "3"
        )

    return answers


def _await(client: FixInitiator, wait: float, cl_ord_id: str, verdict: Verdict,
           fix42: bool, quiet: Callable[[Received], bool] | None = None) -> int:
    """Print what arrives until `verdict` decides (then briefly what follows at once),
    except what `quiet` says is not an answer to print."""
    deadline = time.monotonic() + wait
    outcome: int | None = None
    follow_up = 0.0
    while True:
        now = time.monotonic()
        if outcome is not None and now >= follow_up:
            return outcome
        left = (follow_up if outcome is not None else deadline) - now
        if left <= 0:
            print(f"no answer within {wait:g} s to ClOrdID {cl_ord_id} "
                  f"({client.sender_comp_id}); ask later with: oms order status {cl_ord_id}",
                  file=sys.stderr)
            return NO_ANSWER
        message = client.receive(left)
        if message is None or (quiet is not None and quiet(message)):
            continue
        print(describe(message, fix42), flush=True)
        if message.msg_type == "5":
            return outcome if outcome is not None else NO_ANSWER
        if outcome is None:
            outcome = verdict(message)
            if outcome is not None:
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
