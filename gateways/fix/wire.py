"""FIX message text: masking secrets, text that is not UTF-8, timestamps, decimals,
building messages.

Plain functions with no session state, so that every gateway (the client acceptor, the
venue adapter, the simulated venue, the replay tool) writes the wire the same way. Reading
a message's fields is quickfix's job: see `gateways.fix.fields`.
"""

from __future__ import annotations

import calendar
import time
from collections.abc import Iterable
from decimal import Decimal

import quickfix

SOH = "\x01"

# Password(554), NewPassword(925) and RawData(96, where logons carry credentials).
SECRET_TAGS = frozenset({554, 925, 96})
# RawDataLength(95) announces RawData(96)'s length.
_RAW_DATA_LENGTH = 95
MASK = "***"


def masked_text(message: quickfix.Message) -> str:
    """The message's text with Password(554), NewPassword(925) and RawData(96) shown as ***.

    The secrets are replaced in a copy of the message, so quickfix writes the text (a
    RawData holding SOH included); BodyLength(9) and CheckSum(10) are then those of the
    masked text. The tags are looked for in the body, where FIX defines them.
    """
    if not any(message.isSetField(tag) for tag in SECRET_TAGS):
        return str(message.toString())
    masked = quickfix.Message(message)
    for tag in SECRET_TAGS:
        if masked.isSetField(tag):
            masked.setField(tag, MASK)
    if masked.isSetField(_RAW_DATA_LENGTH):
        masked.setField(_RAW_DATA_LENGTH, str(len(MASK)))
    return str(masked.toString())


def printable(raw: str) -> str:
    """The message with SOH shown as |, and bytes that are not UTF-8 as \\xNN, for logs
    and terminals."""
    return escaped(raw).replace(SOH, "|")


# Text that is not UTF-8. quickfix's Python binding hands over each value as a str decoded
# from UTF-8 with "surrogateescape": a byte that is not part of valid UTF-8 arrives as a lone
# surrogate (U+DC80 to U+DCFF), which no UTF-8 writer (a file, the audit log, quickfix
# itself when the str is sent back) can encode.


def invalid_utf8_tag(text: str) -> int | None:
    """The tag of the first field of a message's text whose value is not valid UTF-8, or
    None when all of it is (0 when the bytes sit before any tag)."""
    if text.isascii():
        return None
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as error:
        return _tag_at(text, error.start)
    return None


def _tag_at(text: str, position: int) -> int:
    """The tag of the field holding `position`: the nearest `<digits>=` after an SOH before
    it (a data field may itself hold SOH, so a piece that is no tag is passed over)."""
    end = position
    while end > 0:
        start = text.rfind(SOH, 0, end) + 1
        tag, equals, _ = text[start:position].partition("=")
        if equals and tag.isdigit():
            return int(tag)
        end = start - 1
    return 0


def escaped(text: str) -> str:
    """`text` with each byte that is not UTF-8 written as \\xNN; valid text unchanged."""
    if text.isascii():
        return text
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        try:
            raw = text.encode("utf-8", "surrogateescape")
        except UnicodeEncodeError:
            # A surrogate quickfix did not make (not U+DC80 to U+DCFF): shown as \\udNNN.
            return text.encode("utf-8", "backslashreplace").decode("utf-8")
        return raw.decode("utf-8", "backslashreplace")
    return text


# Timestamps: UTCTimestamp is YYYYMMDD-HH:MM:SS with .sss, .ssssss or .sssssssss optional.


def format_utc_timestamp(time_ns: int) -> str:
    """UTCTimestamp with milliseconds, the precision FIX 4.2 and 4.4 both define."""
    seconds, nanos = divmod(time_ns, 1_000_000_000)
    return time.strftime("%Y%m%d-%H:%M:%S", time.gmtime(seconds)) + f".{nanos // 1_000_000:03d}"


def parse_utc_timestamp(text: str) -> int:
    """Nanoseconds since the epoch of a UTCTimestamp; ValueError if it is not one.

    quickfix's own convertor reads the text (through UtcTimeStampField); two things it lets
    through are refused here: a day the month does not have (it reads February 31 as
    March 2) and a dot with no digits after it.
    """
    field = quickfix.UtcTimeStampField(0)
    field.setString(text)
    try:
        stamp = field.getValue()
    except (quickfix.IncorrectDataFormat, quickfix.FieldConvertError):
        raise ValueError(f"not a UTCTimestamp: {text!r}") from None
    if text.endswith("."):
        raise ValueError(f"not a UTCTimestamp: {text!r} (a dot without digits)")
    # quickfix has checked the layout, so the date's digits are where FIX puts them.
    year, month, day = int(text[0:4]), int(text[4:6]), int(text[6:8])
    if day > calendar.monthrange(year, month)[1]:
        raise ValueError(f"not a UTCTimestamp: {text!r} (no such day)")
    # Second 60 (a leap second, which UTCTimestamp allows) is read as the next minute's 0.
    seconds = calendar.timegm((
        stamp.getYear(), stamp.getMonth(), stamp.getDay(), stamp.getHour(),
        stamp.getMinute(), stamp.getSecond(), 0, 0, 0,
    ))
    return seconds * 1_000_000_000 + stamp.getNanosecond()


# Numbers.


def decimal_text(value: Decimal) -> str:
    """A decimal as FIX writes a Price or Qty: plain digits, never an exponent."""
    return format(value, "f")


# Building messages.


def build_message(msg_type: str, fields: Iterable[tuple[int, str]]) -> quickfix.Message:
    """A quickfix Message of MsgType(35) `msg_type` with the given body fields, in order.

    The session fills in BeginString, CompIDs, MsgSeqNum and SendingTime when it is sent.
    A value holding bytes that are not UTF-8 (a peer's, echoed) goes out escaped as \\xNN:
    quickfix's binding cannot take it as it is, and a report must not be lost for it.
    """
    message = quickfix.Message()
    message.getHeader().setField(35, msg_type)
    for tag, value in fields:
        message.setField(tag, escaped(value))
    return message
