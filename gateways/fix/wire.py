"""FIX message text: reading fields, masking secrets, timestamps, decimals, building messages.

Plain functions over the tag=value text, with no session state, so that every gateway (the
client acceptor, the venue adapter, the simulated venue, the replay tool) reads and writes
the wire the same way. quickfix is used only to build an outgoing `quickfix.Message`.
"""

from __future__ import annotations

import calendar
import time
from collections.abc import Iterable, Iterator
from decimal import Decimal

import quickfix

SOH = "\x01"

# Length field -> the data field it announces (the data may itself contain SOH).
_DATA_FIELDS = {90: 91, 93: 89, 95: 96, 212: 213, 348: 349, 350: 351, 354: 355}
# Password(554), NewPassword(925) and RawData(96, where logons carry credentials).
SECRET_TAGS = frozenset({554, 925, 96})
MASK = "***"


class MalformedText(ValueError):
    """Text that is not tag=value FIX: the message says where it stops making sense."""


def iter_fields(raw: str) -> Iterator[tuple[int, str]]:
    """Each (tag, value) of a message in order, reading data fields by their length field."""
    position = 0
    end = len(raw)
    data_length: int | None = None
    data_tag = 0
    while position < end:
        equals = raw.find("=", position)
        if equals < 0:
            raise MalformedText(f"no '=' after offset {position}")
        try:
            tag = int(raw[position:equals])
        except ValueError as error:
            raise MalformedText(f"tag {raw[position:equals]!r} is not a number") from error
        if data_length is not None and tag == data_tag:
            # A data field: its value is exactly as long as the length field said.
            stop = equals + 1 + data_length
            value = raw[equals + 1 : stop]
            data_length = None
        else:
            stop = raw.find(SOH, equals + 1)
            if stop < 0:
                stop = end
            value = raw[equals + 1 : stop]
            data_length = None
            if tag in _DATA_FIELDS and value.isdigit():
                data_length, data_tag = int(value), _DATA_FIELDS[tag]
        yield tag, value
        position = stop + 1


def parse_fields(raw: str) -> dict[int, str]:
    """Tag -> value of a message; where a tag repeats (in a group) its first value is kept."""
    fields: dict[int, str] = {}
    for tag, value in iter_fields(raw):
        fields.setdefault(tag, value)
    return fields


def mask_secrets(raw: str) -> str:
    """The message with every password and RawData value replaced by ***."""
    if not any(f"{SOH}{tag}=" in raw for tag in SECRET_TAGS):
        return raw
    try:
        return SOH.join(
            f"{tag}={MASK if tag in SECRET_TAGS else value}" for tag, value in iter_fields(raw)
        ) + (SOH if raw.endswith(SOH) else "")
    except MalformedText:
        # Unreadable: keep nothing after the first secret rather than risk printing it.
        first = min(raw.find(f"{SOH}{tag}=") for tag in SECRET_TAGS if f"{SOH}{tag}=" in raw)
        return raw[:first] + f"{SOH}{MASK}"


def printable(raw: str) -> str:
    """The message with SOH shown as |, for logs and terminals."""
    return raw.replace(SOH, "|")


# Timestamps: UTCTimestamp is YYYYMMDD-HH:MM:SS with .sss, .ssssss or .sssssssss optional.


def format_utc_timestamp(time_ns: int) -> str:
    """UTCTimestamp with milliseconds, the precision FIX 4.2 and 4.4 both define."""
    seconds, nanos = divmod(time_ns, 1_000_000_000)
    return time.strftime("%Y%m%d-%H:%M:%S", time.gmtime(seconds)) + f".{nanos // 1_000_000:03d}"


def parse_utc_timestamp(text: str) -> int:
    """Nanoseconds since the epoch of a UTCTimestamp; ValueError if it is not one."""
    if len(text) < 17 or text[8] != "-" or text[11] != ":" or text[14] != ":":
        raise ValueError(f"not a UTCTimestamp: {text!r}")
    fraction = text[18:] if len(text) > 17 else ""
    if len(text) > 17 and (text[17] != "." or not fraction.isdigit() or len(fraction) > 9):
        raise ValueError(f"not a UTCTimestamp: {text!r}")
    try:
        year, month, day = int(text[0:4]), int(text[4:6]), int(text[6:8])
        hour, minute, second = int(text[9:11]), int(text[12:14]), int(text[15:17])
    except ValueError as error:
        raise ValueError(f"not a UTCTimestamp: {text!r}") from error
    # Second 60 is a leap second, which UTCTimestamp allows.
    if not (1 <= month <= 12 and hour < 24 and minute < 60 and second <= 60):
        raise ValueError(f"not a UTCTimestamp: {text!r}")
    # quickfix's own check lets a day the month does not have (February 31) through.
    if not 1 <= day <= calendar.monthrange(year, month)[1]:
        raise ValueError(f"not a UTCTimestamp: {text!r} (no such day)")
    seconds = calendar.timegm((year, month, day, hour, minute, second, 0, 0, 0))
    return seconds * 1_000_000_000 + (int(fraction.ljust(9, "0")) if fraction else 0)


# Numbers.


def decimal_text(value: Decimal) -> str:
    """A decimal as FIX writes a Price or Qty: plain digits, never an exponent."""
    return format(value, "f")


# Building messages.


def build_message(msg_type: str, fields: Iterable[tuple[int, str]]) -> quickfix.Message:
    """A quickfix Message of MsgType(35) `msg_type` with the given body fields, in order.

    The session fills in BeginString, CompIDs, MsgSeqNum and SendingTime when it is sent.
    """
    message = quickfix.Message()
    message.getHeader().setField(35, msg_type)
    for tag, value in fields:
        message.setField(tag, value)
    return message
