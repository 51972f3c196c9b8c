"""What `oms replay` prints: one line per request with its answer, and the summary."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

import quickfix

from gateways.fix.fixlog import FixLog, LoggedMessage
from gateways.fix.initiator import Received
from oms.model import ExecType, OrdStatus

_REQUEST_NAMES = {
    "D": "NewOrderSingle",
    "F": "OrderCancelRequest",
    "G": "OrderCancelReplaceRequest",
    "H": "OrderStatusRequest",
}
_ANSWER_NAMES = {
    "8": "ExecutionReport",
    "9": "OrderCancelReject",
    "3": "Reject",
    "j": "BusinessMessageReject",
    "5": "Logout",
}
# FIX 4.2 tells fills by ExecType 1 (Partial fill) and 2 (Fill).
_FIX42_EXEC_TYPES = {"1": "Partial fill", "2": "Fill"}
# The tag that gives each kind of reject's reason, and its name.
_REASONS = {
    "8": (103, "OrdRejReason"),
    "9": (102, "CxlRejReason"),
    "3": (373, "SessionRejectReason"),
    "j": (380, "BusinessRejectReason"),
}
_SHOWN_TAGS = 12


@dataclass
class Outcome:
    """One request as sent, and its answer (None when none came)."""

    logged: LoggedMessage
    sent: quickfix.Message
    seq_num: str
    answer: Received | None = None
    interim: list[Received] = field(default_factory=list)  # Pending New/Cancel/Replace
    late: bool = False  # answered after its wait ran out

    @property
    def cl_ord_id(self) -> str:
        return _field(self.sent, 11)


@dataclass
class ReplayTally:
    """Everything the summary counts."""

    requests: Counter[str] = field(default_factory=Counter)  # by MsgType
    answers: Counter[str] = field(default_factory=Counter)  # by request and answer
    reason_texts: dict[str, str] = field(default_factory=dict)  # answer -> a first text
    other_messages: Counter[str] = field(default_factory=Counter)  # fills and the like
    stripped: Counter[tuple[int, str]] = field(default_factory=Counter)  # (tag, why)
    stripped_messages: int = 0
    accounts_left_out: Counter[str] = field(default_factory=Counter)
    currencies_left_out: Counter[str] = field(default_factory=Counter)
    symbols_mapped: Counter[tuple[str, str]] = field(default_factory=Counter)
    unanswered: int = 0
    late: int = 0
    not_sent: int = 0  # requests left when the session logged out


def request_line(outcome: Outcome, fix42: bool) -> str:
    """`line 93: D NewOrderSingle ClOrdID=... Buy 10 DEMO @ 99.0 -> ExecutionReport ...`"""
    message = outcome.sent
    msg_type = outcome.logged.msg_type
    parts = [f"line {outcome.logged.line}: {msg_type} {_REQUEST_NAMES[msg_type]}"]
    for tag, name in ((11, "ClOrdID"), (41, "OrigClOrdID")):
        if message.isSetField(tag):
            parts.append(f"{name}={message.getField(tag)}")
    terms = [_field(message, tag) for tag in (54, 38, 55)]
    side = {"1": "Buy", "2": "Sell", "5": "Sell Short", "6": "Sell Short Exempt"}
    terms[0] = side.get(terms[0], terms[0])
    if message.isSetField(44):
        terms.append(f"@ {message.getField(44)}")
    parts.append(" ".join(t for t in terms if t))
    return " ".join(parts) + " -> " + answer_text(outcome, fix42)


def answer_text(outcome: Outcome, fix42: bool) -> str:
    answer = outcome.answer
    if answer is None:
        return "no answer"
    text = describe_answer(answer, fix42)
    return f"{text} (late)" if outcome.late else text


def describe_answer(answer: Received, fix42: bool) -> str:
    """The answer's type, ExecType/OrdStatus, reason code and text."""
    kind = answer.msg_type
    parts = [_ANSWER_NAMES.get(kind, f"MsgType {kind}")]
    if kind == "8":
        parts.append(f"{_exec_type(answer.get(150) or '', fix42)}/{_ord_status(answer)}")
    elif kind == "9":
        parts.append(_ord_status(answer))
    if kind in _REASONS:
        tag, name = _REASONS[kind]
        if answer.get(tag) is not None:
            parts.append(f"{name}={answer.get(tag)}")
    if kind == "3" and answer.get(371):
        parts.append(f"RefTagID={answer.get(371)}")
    text = answer.get(58)
    return " ".join(parts) + (f": {text}" if text else "")


def answer_key(outcome: Outcome, fix42: bool) -> str:
    """The request type and the answer without its text: what the summary counts."""
    answer = outcome.answer
    if answer is None:
        return f"{outcome.logged.msg_type} -> no answer"
    text = describe_answer(answer, fix42)
    return f"{outcome.logged.msg_type} -> {text.split(':', 1)[0]}"


def summary_lines(
    fix_log: FixLog,
    tally: ReplayTally,
    *,
    sender: str,
    begin_string: str,
    seconds: float,
    logged_on: bool,
    logout_text: str,
    stripping: bool,
) -> list[str]:
    delimiters = ", ".join(f"{d!r}" if d != "SOH" else d for d in fix_log.delimiters)
    requests = sum(tally.requests.values())
    by_type = ", ".join(f"{t} {n:,}" for t, n in sorted(tally.requests.items()))
    lines = [
        f"FIX log     {fix_log.path.name}: {fix_log.lines:,} lines, {len(fix_log.messages):,} "
        f"messages (delimiter {delimiters or '-'}), {len(fix_log.unreadable):,} unreadable; "
        f"client {fix_log.client_comp_id}, {begin_string}",
        f"Replayed    {requests:,} requests ({by_type}) as {sender} in {seconds:.1f} s",
    ]
    if stripping and not tally.stripped:
        lines.append("Stripped    nothing: the data dictionary takes every tag as logged")
    elif stripping:
        distinct = Counter(tag for tag, _ in tally.stripped.elements())
        shown = ", ".join(f"{tag} x{n:,}" for tag, n in distinct.most_common(_SHOWN_TAGS))
        more = f", {len(distinct) - _SHOWN_TAGS} more" if len(distinct) > _SHOWN_TAGS else ""
        whys: Counter[str] = Counter()
        for (_, why), count in tally.stripped.items():
            whys[why] += count
        lines.append(
            f"Stripped    {sum(tally.stripped.values()):,} tags from "
            f"{tally.stripped_messages:,} requests ("
            + ", ".join(f"{n:,} {why}" for why, n in whys.items())
            + f"): {shown}{more}"
        )
    else:
        lines.append("Stripped    nothing: tags were sent as logged (--keep-unknown-tags)")
    if tally.accounts_left_out:
        accounts = ", ".join(tally.accounts_left_out)
        lines.append(
            f"Account(1)  left out of {sum(tally.accounts_left_out.values()):,} requests "
            f"({accounts}): the session's default account applies"
        )
    for (source, target), count in tally.symbols_mapped.items():
        lines.append(f"Symbol(55)  {source} -> {target} on {count:,} requests")
    if tally.currencies_left_out:
        currencies = ", ".join(tally.currencies_left_out)
        lines.append(
            f"Currency(15) left out of {sum(tally.currencies_left_out.values()):,} requests "
            f"with a mapped symbol ({currencies}): the instrument's own currency applies"
        )
    answered = requests - tally.unanswered
    lines.append(
        f"Answers     {answered:,} of {requests:,} requests answered"
        + (f" ({tally.late:,} late)" if tally.late else "")
        + (f"; {tally.not_sent:,} not sent: the session ended" if tally.not_sent else "")
    )
    for key, count in sorted(tally.answers.items()):
        example = tally.reason_texts.get(key)
        lines.append(f"  {count:>6,} {key}" + (f", e.g. {example}" if example else ""))
    if tally.other_messages:
        others = ", ".join(f"{k} {n:,}" for k, n in tally.other_messages.most_common())
        lines.append(f"  also received: {others}")
    session = "still logged on" if logged_on else f"logged out ({logout_text or 'no text'})"
    lines.append(f"Session     {sender}: {session}")
    return lines


def _exec_type(code: str, fix42: bool) -> str:
    if fix42 and code in _FIX42_EXEC_TYPES:
        return _FIX42_EXEC_TYPES[code]
    try:
        return ExecType(code).label
    except ValueError:
        return code


def _ord_status(answer: Received) -> str:
    code = answer.get(39) or ""
    try:
        return OrdStatus(code).label
    except ValueError:
        return code


def _field(message: quickfix.Message, tag: int) -> str:
    return message.getField(tag) if message.isSetField(tag) else ""
