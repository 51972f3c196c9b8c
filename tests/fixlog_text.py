"""FIX log lines for the replay tests, written as another engine's log would have them.

Each message is built with quickfix, so BodyLength(9) and CheckSum(10) are right, then
shown with the delimiter and line prefix a test asks for.
"""

from __future__ import annotations

from collections.abc import Iterable

import quickfix

SOH = "\x01"


class LogWriter:
    """Numbered messages between a client and its broker, as log lines."""

    def __init__(
        self, begin_string: str = "FIX.4.4", client: str = "TRADER", broker: str = "BROKER"
    ) -> None:
        self.begin_string = begin_string
        self.client = client
        self.broker = broker
        self._seq = {client: 0, broker: 0}

    def message(
        self,
        msg_type: str,
        fields: Iterable[tuple[int, str]],
        *,
        from_client: bool = True,
        header: Iterable[tuple[int, str]] = (),
    ) -> str:
        """One message's text with SOH delimiters."""
        sender, target = (self.client, self.broker) if from_client else (self.broker, self.client)
        self._seq[sender] += 1
        message = quickfix.Message()
        head = message.getHeader()
        head.setField(8, self.begin_string)
        head.setField(35, msg_type)
        head.setField(49, sender)
        head.setField(56, target)
        head.setField(34, str(self._seq[sender]))
        head.setField(52, "20240102-14:30:00.000")
        for tag, value in header:
            head.setField(tag, value)
        for tag, value in fields:
            message.setField(tag, value)
        return str(message.toString())


def log_lines(messages: Iterable[str], delimiter: str = SOH, prefix: str = "") -> str:
    """The messages as a log file's text: one per line, behind `prefix`."""
    return "".join(f"{prefix}{m.replace(SOH, delimiter)}\n" for m in messages)
