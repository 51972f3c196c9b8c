"""Reading a FIX message's fields through quickfix, never by hand.

quickfix has already parsed every message a callback is given. `MessageFields` reads that
`quickfix.Message` by tag, as a read-only `Mapping[int, str]`, so that code written against
tag -> value (the codec, the test clients) needs no quickfix calls of its own.

Text that is not a quickfix Message yet (a message kept in the audit log, bytes read off a
raw test socket) becomes one with `read_message`, against the data dictionary of its
BeginString(8): data fields (RawData(96) and its kin, whose value may hold SOH) and
repeating groups are then read the way quickfix reads them.

What the view shows: the fields of the header, the body and the trailer. Fields inside a
repeating group (the PartyIDs of NoPartyIDs(453), ...) are not among them; read those with
quickfix's group API.
"""

from __future__ import annotations

import functools
import xml.etree.ElementTree as ElementTree
from collections.abc import Iterator, Mapping
from typing import TypeVar, overload

import quickfix

from gateways.fix.session import FixSetupError, dictionary_path
from gateways.fix.wire import escaped

T = TypeVar("T")


class MessageFields(Mapping[int, str]):
    """A read-only tag -> value view of a quickfix Message (header, body and trailer).

    A view, not a copy: the message must outlive it. quickfix destroys the message it hands
    a callback once the callback returns, so keep `MessageFields(quickfix.Message(message))`
    (a copy) past the callback, never a view of the message itself.
    """

    __slots__ = ("message", "_parts")

    def __init__(self, message: quickfix.Message) -> None:
        self.message = message
        self._parts = (message, message.getHeader(), message.getTrailer())

    def __getitem__(self, tag: int) -> str:
        part = self._parts[_part(tag)]
        if part.isSetField(tag):
            return part.getField(tag)
        raise KeyError(tag)

    # get and `in` without raising and catching: the codec asks for absent tags often.

    @overload
    def get(self, tag: int, /) -> str | None: ...

    @overload
    def get(self, tag: int, default: str, /) -> str: ...

    @overload
    def get(self, tag: int, default: T, /) -> str | T: ...

    def get(self, tag: int, default: object = None, /) -> object:
        part = self._parts[_part(tag)]
        if part.isSetField(tag):
            return part.getField(tag)
        return default

    def __contains__(self, tag: object) -> bool:
        return isinstance(tag, int) and bool(self._parts[_part(tag)].isSetField(tag))

    def __iter__(self) -> Iterator[int]:
        """The tags in message order. Slow (quickfix's Python binding has no field iterator,
        so the tags are read from quickfix's XML form of the message): for tests and
        diagnostics, not for the order path."""
        # TODO: quickfix writes a value containing "]]>" into its XML unescaped; such a
        # message cannot be listed (ValueError) until quickfix escapes it.
        try:
            root = ElementTree.fromstring(self.message.toXML())
        except ElementTree.ParseError as error:
            raise ValueError(f"quickfix's XML of the message is unreadable: {error}") from None
        for part in ("header", "body", "trailer"):
            for field in root.findall(f"{part}/field"):
                yield int(field.get("number", "0"))

    def __len__(self) -> int:
        return sum(1 for _ in self)

    def __repr__(self) -> str:
        return f"MessageFields({self.message.toString()!r})"


class EscapedFields(Mapping[int, str]):
    """A view of a message's fields whose values show each byte that is not UTF-8 as \\xNN
    (`gateways.fix.wire.escaped`): for a peer's message that must be read even so (a venue's
    report of a fill it made), with values that can be logged, recorded and sent on."""

    __slots__ = ("_fields",)

    def __init__(self, fields: Mapping[int, str]) -> None:
        self._fields = fields

    def __getitem__(self, tag: int) -> str:
        return escaped(self._fields[tag])

    def __contains__(self, tag: object) -> bool:
        return tag in self._fields

    def __iter__(self) -> Iterator[int]:
        return iter(self._fields)

    def __len__(self) -> int:
        return len(self._fields)


# Where a tag lives: 0 the body, 1 the header, 2 the trailer. quickfix decides by the tag
# alone (the standard header and trailer of FIX 4.x), and so does this cache of its answers.
_PARTS: dict[int, int] = {}


def _part(tag: int) -> int:
    part = _PARTS.get(tag)
    if part is None:
        if quickfix.Message.isHeaderField(tag):
            part = 1
        elif quickfix.Message.isTrailerField(tag):
            part = 2
        else:
            part = 0
        _PARTS[tag] = part
    return part


@functools.cache
def data_dictionary(begin_string: str) -> quickfix.DataDictionary:
    """quickfix's data dictionary of a FIX version, loaded once per process and only read
    afterwards (so it is shared between threads); FixSetupError if there is none."""
    return quickfix.DataDictionary(str(dictionary_path(begin_string)))


@functools.cache
def _field_names(begin_string: str) -> dict[int, str]:
    root = ElementTree.parse(dictionary_path(begin_string)).getroot()
    return {
        int(field.get("number", "0")): field.get("name", "")
        for field in root.iterfind("fields/field")
    }


def tag_name(tag: int, begin_string: str) -> str:
    """A tag as log and reject texts name it: `Symbol(55)` when the data dictionary of
    `begin_string` defines it, else `tag 9999`."""
    try:
        name = _field_names(begin_string).get(tag)
    except FixSetupError:
        name = None
    return f"{name}({tag})" if name else f"tag {tag}"


def read_message(text: str, begin_string: str) -> quickfix.Message:
    """A message's text as a quickfix Message, read against the data dictionary of
    `begin_string` without validating it (BodyLength(9) and CheckSum(10) included):
    quickfix.InvalidMessage if it is not FIX at all."""
    return quickfix.Message(text, data_dictionary(begin_string), False)


def read_fields(text: str, begin_string: str) -> MessageFields:
    """The fields of a message's text (see `read_message`)."""
    return MessageFields(read_message(text, begin_string))


__all__ = [
    "EscapedFields",
    "MessageFields",
    "data_dictionary",
    "read_fields",
    "read_message",
    "tag_name",
]
