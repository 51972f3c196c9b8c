"""Reading another FIX engine's message log, and preparing its client requests for replay.

Logs come in many forms. A line holds at most one message, which starts at `8=FIX`; what
comes before it (a timestamp, a logger's prefix) is ignored. The field delimiter is SOH,
or whatever character follows the BeginString(8) value (`|`, `;`, ...), or the two
characters `^A` some tools print for SOH. The message ends with its CheckSum(10). The text
between is read by quickfix against the data dictionary of the message's BeginString,
after the delimiter is turned back into SOH.

Preparing a request for another session (`prepare`) keeps its body and rewrites only what
belongs to the original connection: the session fills in BeginString(8), BodyLength(9),
the CompIDs (49, 56), MsgSeqNum(34), SendingTime(52) and CheckSum(10) when it sends, and
PossDupFlag(43) and OrigSendingTime(122) (which describe a retransmission on that old
connection) are left out. Other header fields (OnBehalfOfCompID(115), SenderSubID(50),
...) are kept. With a prefix, every ClOrdID(11) and OrigClOrdID(41) gets it in front (the
OMS refuses a ClOrdID a session has used before, so a log is sent twice only under new
ones). A Symbol(55) mapped onto one of our instruments takes the log's Currency(15)
out with it: that was the currency of the log's instrument (a London listing in pence,
say), which the OMS would refuse on ours. Then, unless told to keep them, the tags our
data dictionary would refuse are stripped, as quickfix's own validation names them one at a
time: tags it does not know at all (broker-specific tags) and tags it does not define for
that message type.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import quickfix

from gateways.fix.session import FixSetupError, dictionary_path
from gateways.fix.wire import SOH

log = logging.getLogger(__name__)

# MsgType(35) of the client requests the OMS takes.
REQUEST_TYPES = frozenset({"D", "F", "G", "H"})
# Header fields that belong to the original connection (see the module docstring).
_CONNECTION_FIELDS = (43, 122)
# Account(1): the original broker's account, not one of ours.
_ACCOUNT = 1
_SYMBOL = 55
_CURRENCY = 15
# ClOrdID(11) and OrigClOrdID(41): what a prefix renames, so that a log can be sent again.
_ID_TAGS = (11, 41)
# How many tags one message may lose before we stop asking quickfix (a safety bound).
_MAX_STRIPPED = 500
_CARET_SOH = "^A"

STRIPPED_UNKNOWN = "not in the data dictionary"
STRIPPED_NOT_IN_MESSAGE = "not defined for the message type"


class FixLogError(ValueError):
    """A log that cannot be replayed at all; the text says why."""


@dataclass(frozen=True)
class LoggedMessage:
    """One message of the log, as text with SOH delimiters, and the header fields we use."""

    line: int
    begin_string: str
    msg_type: str
    sender_comp_id: str
    target_comp_id: str
    text: str = field(repr=False)


@dataclass
class FixLog:
    path: Path
    messages: list[LoggedMessage] = field(default_factory=list)
    lines: int = 0
    unreadable: list[tuple[int, str]] = field(default_factory=list)  # (line, why)
    delimiters: Counter[str] = field(default_factory=Counter)

    @property
    def client_comp_id(self) -> str:
        """The client side: the SenderCompID of the first NewOrderSingle (35=D)."""
        for message in self.messages:
            if message.msg_type == "D":
                return message.sender_comp_id
        raise FixLogError(f"{self.path}: no NewOrderSingle (35=D), so no client side to replay")

    def requests(self) -> list[LoggedMessage]:
        """The client's D, F, G and H messages, in log order."""
        client = self.client_comp_id
        return [
            m for m in self.messages if m.sender_comp_id == client and m.msg_type in REQUEST_TYPES
        ]


class Dictionaries:
    """quickfix data dictionaries by BeginString, loaded once each, validating as the
    OMS's acceptor does (user-defined fields checked, unknown message fields refused)."""

    def __init__(self) -> None:
        self._loaded: dict[str, quickfix.DataDictionary] = {}

    def get(self, begin_string: str) -> quickfix.DataDictionary:
        dictionary = self._loaded.get(begin_string)
        if dictionary is None:
            dictionary = quickfix.DataDictionary(str(dictionary_path(begin_string)))
            dictionary.checkUserDefinedFields(True)
            dictionary.allowUnknownMsgFields(False)
            self._loaded[begin_string] = dictionary
        return dictionary


def read_fix_log(path: Path, dictionaries: Dictionaries) -> FixLog:
    """Every message of a log file (see the module docstring for the forms it reads)."""
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError as error:
        raise FixLogError(f"{path}: cannot read: {error.strerror}") from error
    fix_log = FixLog(path)
    for number, line in enumerate(text.splitlines(), start=1):
        fix_log.lines = number
        start = line.find("8=FIX")
        if start < 0:
            continue
        try:
            fix_log.messages.append(_message(line[start:], number, dictionaries, fix_log))
        except (ValueError, FixSetupError, quickfix.InvalidMessage, quickfix.FieldNotFound) as e:
            fix_log.unreadable.append((number, str(e) or type(e).__name__))
    return fix_log


def _message(text: str, line: int, dictionaries: Dictionaries, fix_log: FixLog) -> LoggedMessage:
    if SOH not in text and _CARET_SOH in text:
        text = text.replace(_CARET_SOH, SOH)
    # The delimiter is the character just before BodyLength(9), which follows BeginString.
    body_length = text.find("9=")
    if body_length < 3:
        raise ValueError("no BodyLength(9) after the BeginString(8)")
    delimiter = text[body_length - 1]
    begin_string = text[2 : body_length - 1]
    # The message ends with CheckSum(10): three digits.
    checksum = text.rfind(f"{delimiter}10=")
    if checksum < 0:
        raise ValueError("no CheckSum(10): the message is cut short")
    end = checksum + len(delimiter) + len("10=") + 3
    text = text[:end] + delimiter
    if delimiter != SOH:
        text = text.replace(delimiter, SOH)
    fix_log.delimiters["SOH" if delimiter == SOH else delimiter] += 1
    message = quickfix.Message(text, dictionaries.get(begin_string), False)
    header = message.getHeader()
    return LoggedMessage(
        line,
        begin_string,
        header.getField(35),
        header.getField(49) if header.isSetField(49) else "",
        header.getField(56) if header.isSetField(56) else "",
        text,
    )


@dataclass
class Prepared:
    """A request ready to send, and what was changed on the way."""

    message: quickfix.Message
    stripped: list[tuple[int, str]] = field(default_factory=list)  # (tag, why)
    mapped_symbol: tuple[str, str] | None = None
    account_left_out: str | None = None
    currency_left_out: str | None = None


def prepare(
    logged: LoggedMessage,
    dictionary: quickfix.DataDictionary,
    *,
    strip: bool = True,
    symbol_map: Mapping[str, str] | None = None,
    keep_account: bool = False,
    id_prefix: str = "",
) -> Prepared:
    """The logged request as a quickfix Message for our session (see the module docstring);
    `id_prefix` is put before its ClOrdID(11) and OrigClOrdID(41)."""
    message = quickfix.Message(logged.text, dictionary, False)
    header = message.getHeader()
    for tag in _CONNECTION_FIELDS:
        header.removeField(tag)
    prepared = Prepared(message)
    if id_prefix:
        for tag in _ID_TAGS:
            if message.isSetField(tag):
                message.setField(tag, id_prefix + message.getField(tag))
    if not keep_account and message.isSetField(_ACCOUNT):
        # Account(1) names an account at the log's broker: the session's default applies.
        prepared.account_left_out = message.getField(_ACCOUNT)
        message.removeField(_ACCOUNT)
    if symbol_map and message.isSetField(_SYMBOL):
        symbol = message.getField(_SYMBOL)
        if symbol in symbol_map:
            message.setField(_SYMBOL, symbol_map[symbol])
            prepared.mapped_symbol = (symbol, symbol_map[symbol])
            if message.isSetField(_CURRENCY):
                prepared.currency_left_out = message.getField(_CURRENCY)
                message.removeField(_CURRENCY)
    if strip:
        prepared.stripped = _strip_refused_tags(message, dictionary)
    return prepared


def _strip_refused_tags(
    message: quickfix.Message, dictionary: quickfix.DataDictionary
) -> list[tuple[int, str]]:
    """Remove, one at a time, each tag quickfix's validation refuses as unknown or as not
    belonging to the message type; any other problem is left for the OMS to answer."""
    stripped: list[tuple[int, str]] = []
    while len(stripped) < _MAX_STRIPPED:
        try:
            dictionary.validate(message)
            break
        except quickfix.InvalidTagNumber as error:
            why = STRIPPED_UNKNOWN
            tag = int(error.field)
        except quickfix.TagNotDefinedForMessage as error:
            why = STRIPPED_NOT_IN_MESSAGE
            tag = int(error.field)
        except quickfix.FIXException:
            break
        if not _remove(message, tag):
            break
        stripped.append((tag, why))
    return stripped


def _remove(message: quickfix.Message, tag: int) -> bool:
    for part in (message, message.getHeader(), message.getTrailer()):
        if part.isSetField(tag):
            part.removeField(tag)
            return True
    return False
