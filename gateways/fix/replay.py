"""`oms replay FIXLOG`: send the client requests of another FIX engine's log through the OMS.

The client side of the log is the side that sends NewOrderSingle (35=D); its D, F, G and
H messages are sent in log order, with their ClOrdIDs and OrigClOrdIDs, over one of our
client sessions: `--sender`, or by default the shipped session of the log's FIX version
(CLIENT1 for FIX 4.4, CLIENT3 for FIX 4.2). `gateways.fix.fixlog` says how a log is read and
what is rewritten on the way. Each request waits for its answer (up to `--wait` seconds)
before the next is sent, so the OMS sees the log's order as the log's own counterparty did.

Every request gets one printed line: the request, then the answer's type, ExecType and
OrdStatus, reason code and text. The summary counts the answers by kind, what was stripped
or mapped, and whether the session stayed logged on.

ClOrdIDs are kept, so replaying one log twice into the same OMS (one whose audit log
remembers the first run) has the second run's orders rejected as duplicates
(OrdRejReason 6), as any client reusing its ClOrdIDs would; `--prefix` puts a text of the
operator's choosing in front of every ClOrdID(11) and OrigClOrdID(41) sent, so that each run
uses ClOrdIDs of its own.

Exit status: 0 when every request was answered and the session stayed up, 1 otherwise, 2
when the log cannot be replayed or the session cannot log on.
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import quickfix

from gateways.fix.fixlog import (
    Dictionaries,
    FixLog,
    FixLogError,
    LoggedMessage,
    Prepared,
    prepare,
    read_fix_log,
)
from gateways.fix.initiator import FixInitiator, Received
from gateways.fix.replay_report import (
    Outcome,
    ReplayTally,
    answer_key,
    describe_answer,
    request_line,
    summary_lines,
)
from gateways.fix.session import FixSetupError

log = logging.getLogger(__name__)

# The shipped client session of each FIX version (config/oms.toml).
DEFAULT_SENDERS = {"FIX.4.4": "CLIENT1", "FIX.4.2": "CLIENT3"}
# The longest --prefix: the OMS refuses a ClOrdID over 64 characters.
MAX_PREFIX_LENGTH = 32
# ExecType(150) values that are not yet the answer: Pending New, Pending Cancel, Pending
# Replace.
_PENDING = frozenset({"A", "6", "E"})


class ReplayError(RuntimeError):
    """The log cannot be replayed, or the session cannot log on; the text says why."""


@dataclass(frozen=True, kw_only=True)
class ReplayOptions:
    fixlog: Path
    host: str = "127.0.0.1"
    port: int = 9876
    sender: str | None = None
    target: str = "OMS"
    wait: float = 5.0
    symbol_map: Mapping[str, str] = field(default_factory=dict)
    strip: bool = True
    keep_account: bool = False
    id_prefix: str = ""


@dataclass
class ReplayResult:
    fix_log: FixLog
    sender: str
    begin_string: str
    outcomes: list[Outcome]
    tally: ReplayTally
    seconds: float
    logged_on: bool
    logout_text: str
    summary: list[str]

    @property
    def every_request_answered(self) -> bool:
        answered = all(outcome.answer is not None for outcome in self.outcomes)
        return answered and not self.tally.not_sent


def main(args: argparse.Namespace) -> int:
    try:
        options = ReplayOptions(
            fixlog=Path(args.fixlog),
            host=args.host,
            port=args.port,
            sender=args.sender,
            target=args.target,
            wait=args.wait,
            symbol_map=symbol_map(getattr(args, "symbol_map", None) or []),
            strip=not getattr(args, "keep_unknown_tags", False),
            keep_account=getattr(args, "keep_account", False),
            id_prefix=prefix(getattr(args, "prefix", None) or ""),
        )
        result = replay(options, emit=print)
    except ReplayError as error:
        print(f"oms replay: {error}", file=sys.stderr)
        return 2
    for line in result.summary:
        print(line)
    return 0 if result.every_request_answered and result.logged_on else 1


def symbol_map(pairs: list[str]) -> dict[str, str]:
    """`FROM=TO` values as a mapping; ReplayError naming a value without its `=`."""
    mapping: dict[str, str] = {}
    for pair in pairs:
        source, equals, target = pair.partition("=")
        if not equals or not source or not target:
            raise ReplayError(f"--symbol-map {pair!r} is not FROM=TO")
        mapping[source] = target
    return mapping


def prefix(text: str) -> str:
    """The --prefix value; ReplayError for one a ClOrdID could not carry (SOH, `=`,
    whitespace, or more than 32 characters)."""
    if len(text) > MAX_PREFIX_LENGTH:
        raise ReplayError(f"--prefix {text!r} is {len(text)} characters long; the limit is "
                          f"{MAX_PREFIX_LENGTH}")
    if any(c.isspace() or c in "=\x01" or not c.isprintable() for c in text):
        raise ReplayError(f"--prefix {text!r} holds a character a ClOrdID(11) cannot "
                          "(whitespace, '=' or a control character)")
    return text


def replay(options: ReplayOptions, emit: Callable[[str], None] = print) -> ReplayResult:
    """Replay the log's requests; `emit` gets one line per request as it is answered."""
    dictionaries = Dictionaries()
    try:
        fix_log = read_fix_log(options.fixlog, dictionaries)
        requests = fix_log.requests()
    except FixLogError as error:
        raise ReplayError(str(error)) from error
    for line, why in fix_log.unreadable:
        log.warning("%s:%d: not a FIX message: %s", options.fixlog, line, why)
    versions = sorted({request.begin_string for request in requests})
    if len(versions) != 1:
        raise ReplayError(f"{options.fixlog}: requests of several FIX versions: {versions}")
    begin_string = versions[0]
    sender = options.sender or DEFAULT_SENDERS.get(begin_string)
    if sender is None:
        raise ReplayError(f"no shipped session speaks {begin_string}: give --sender")

    client = FixInitiator(options.host, options.port, sender, options.target, begin_string)
    try:
        client.connect(timeout=max(options.wait, 1.0))
    except FixSetupError as error:
        raise ReplayError(str(error)) from error
    session = _Session(client, quickfix.SessionID(begin_string, sender, options.target))
    dictionary = dictionaries.get(begin_string)
    tally = ReplayTally()
    fix42 = begin_string == "FIX.4.2"
    started = time.perf_counter()
    try:
        for logged in requests:
            if not client.is_logged_on:
                break
            prepared = prepare(
                logged,
                dictionary,
                strip=options.strip,
                symbol_map=options.symbol_map,
                keep_account=options.keep_account,
                id_prefix=options.id_prefix,
            )
            _count_changes(tally, prepared)
            outcome = session.send(logged, prepared.message, options.wait)
            tally.requests[logged.msg_type] += 1
            emit(request_line(outcome, fix42))
        session.collect(0.3)
        seconds = time.perf_counter() - started
        logged_on = client.is_logged_on
    finally:
        client.close()
    _count_answers(tally, session, fix42)
    tally.not_sent = len(requests) - len(session.outcomes)
    summary = summary_lines(
        fix_log,
        tally,
        sender=sender,
        begin_string=begin_string,
        seconds=seconds,
        logged_on=logged_on,
        logout_text=session.logout_text,
        stripping=options.strip,
    )
    return ReplayResult(
        fix_log,
        sender,
        begin_string,
        session.outcomes,
        tally,
        seconds,
        logged_on,
        session.logout_text,
        summary,
    )


class _Session:
    """Sends prepared requests one at a time and matches what arrives to them."""

    def __init__(self, client: FixInitiator, session_id: quickfix.SessionID) -> None:
        self._client = client
        self._session_id = session_id
        self.outcomes: list[Outcome] = []
        # Requests still without an answer, by ClOrdID(11) and by MsgSeqNum(34).
        self._waiting: dict[str, Outcome] = {}
        self._waiting_seq: dict[str, Outcome] = {}
        self.other_messages: list[Received] = []
        self.logout_text = ""

    def send(self, logged: LoggedMessage, message: quickfix.Message, wait: float) -> Outcome:
        if not quickfix.Session.sendToTarget(message, self._session_id):
            raise ReplayError(f"quickfix did not send the request: {message}")
        # quickfix filled in the header as it sent: MsgSeqNum(34) is the one it went out with.
        outcome = Outcome(logged, message, message.getHeader().getField(34))
        self.outcomes.append(outcome)
        self._waiting[outcome.cl_ord_id] = outcome
        self._waiting_seq[outcome.seq_num] = outcome
        deadline = time.monotonic() + wait
        while outcome.answer is None and self._client.is_logged_on:
            left = deadline - time.monotonic()
            if left <= 0:
                outcome.late = True  # until an answer comes, if ever
                break
            received = self._client.receive(min(left, 0.5))
            if received is not None:
                self._take(received)
        return outcome

    def collect(self, quiet: float) -> None:
        """Take what still arrives until `quiet` seconds pass without a message."""
        while (received := self._client.receive(quiet)) is not None:
            self._take(received)

    def _take(self, message: Received) -> None:
        kind = message.msg_type
        if kind == "5":
            self.logout_text = message.get(58) or ""
        outcome = None
        if kind in ("8", "9"):
            outcome = self._waiting.get(message.get(11) or "")
        elif kind in ("3", "j"):
            outcome = self._waiting_seq.get(message.get(45) or "")
        if outcome is None:
            self.other_messages.append(message)
            return
        if kind == "8" and message.get(150) in _PENDING:
            outcome.interim.append(message)
            return
        outcome.answer = message
        self._waiting.pop(outcome.cl_ord_id, None)
        self._waiting_seq.pop(outcome.seq_num, None)


def _count_changes(tally: ReplayTally, prepared: Prepared) -> None:
    if prepared.stripped:
        tally.stripped_messages += 1
        tally.stripped.update(prepared.stripped)
    if prepared.account_left_out is not None:
        tally.accounts_left_out[prepared.account_left_out] += 1
    if prepared.currency_left_out is not None:
        tally.currencies_left_out[prepared.currency_left_out] += 1
    if prepared.mapped_symbol is not None:
        tally.symbols_mapped[prepared.mapped_symbol] += 1


def _count_answers(tally: ReplayTally, session: _Session, fix42: bool) -> None:
    for outcome in session.outcomes:
        if outcome.answer is None:
            tally.unanswered += 1
            # An answer may still have come after the wait: the outcome says so.
            outcome.late = False
        elif outcome.late:
            tally.late += 1
        key = answer_key(outcome, fix42)
        tally.answers[key] += 1
        if outcome.answer is not None and outcome.answer.get(58):
            tally.reason_texts.setdefault(key, outcome.answer.get(58) or "")
    for message in session.other_messages:
        tally.other_messages[describe_answer(message, fix42).split(":", 1)[0]] += 1
