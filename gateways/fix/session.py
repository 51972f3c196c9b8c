"""Building quickfix sessions the same way everywhere: data dictionaries, settings, message
stores, and an Application base class whose every callback is guarded.

The client acceptor, the FIX venue adapter and the simulated venue all build their quickfix
objects here, so that a lesson learnt about quickfix 1.16 (PyPI) is applied once:

- A Python exception escaping any Application callback ends the whole process. Every
  callback of `GuardedApplication` catches everything except the few quickfix exceptions that
  quickfix documents for that callback, which it turns into the right reject.
- Raising `quickfix.DoNotSend` from toApp makes a later `stop()` crash the process
  (segmentation fault, measured), so `GuardedApplication` never lets it through.
- A Python `quickfix.LogFactory` subclass crashes the process at construction or at `stop()`
  (measured), and quickfix's FileLog writes passwords, so no session built here writes a
  quickfix log: `gateways.fix.messagelog` writes a masked message log from the callbacks,
  and the client acceptor reads quickfix's events (the refusals no callback sees) through
  named pipes, its message files pointed at /dev/null (`gateways.fix.eventlog`).
- Settings are built with `quickfix.Dictionary` objects rather than a settings file, so no
  value can break the file's syntax.
- `SocketAcceptor.stop()` (the non-threaded acceptor) closes its socket server on the
  calling thread while the acceptor's own thread, woken by that very close, closes and
  deletes it: the process dies (segmentation fault, measured within the first few of a
  series of stops). `ThreadedSocketAcceptor` survived 200 of 200; use it. Its sends block
  while the peer does not read, so send from a thread of the session's own
  (`gateways.fix.outbox`), never from the engine thread.
- Stopping an initiator or acceptor while a session is still logged on (or just logging
  out) is where these races live: `stop_quietly` logs every session out first and waits
  until the callbacks have been quiet for a moment.
- quickfix keeps one process-wide registry of sessions: an acceptor or initiator must be
  deleted (its last reference dropped) before another one with the same SessionIDs starts.
"""

from __future__ import annotations

import logging
import sys
import sysconfig
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import quickfix

from gateways.fix.wire import build_message, masked_text, printable

log = logging.getLogger(__name__)

# BeginString(8) -> the data dictionary file quickfix ships for it.
DICTIONARY_FILES = {
    "FIX.4.0": "FIX40.xml",
    "FIX.4.1": "FIX41.xml",
    "FIX.4.2": "FIX42.xml",
    "FIX.4.3": "FIX43.xml",
    "FIX.4.4": "FIX44.xml",
}

# Validation every session built here uses: quickfix checks each incoming message against
# the dictionary and answers a malformed one with a session Reject(35=3) naming the tag.
VALIDATION: Mapping[str, str] = {
    "UseDataDictionary": "Y",
    "ValidateLengthAndChecksum": "Y",
    "ValidateFieldsOutOfOrder": "Y",
    "ValidateFieldsHaveValues": "Y",
    "ValidateUserDefinedFields": "Y",
    "AllowUnknownMsgFields": "N",
    "CheckCompID": "Y",
}

SettingValue = str | int | bool | Path


class FixSetupError(RuntimeError):
    """A FIX session that cannot be built: a missing dictionary, a bad setting, a busy port."""


# Data dictionaries.


def dictionary_directories() -> list[Path]:
    """Where the quickfix wheel may have put its data dictionaries, most likely first."""
    candidates = [
        Path(sys.prefix) / "share" / "quickfix",
        Path(sysconfig.get_path("data")) / "share" / "quickfix",
        # site-packages/quickfix.py -> <prefix>/lib/pythonX.Y/site-packages
        Path(quickfix.__file__).resolve().parents[3] / "share" / "quickfix",
    ]
    unique: list[Path] = []
    for candidate in candidates:
        if candidate not in unique:
            unique.append(candidate)
    return unique


def dictionary_path(begin_string: str) -> Path:
    """The quickfix data dictionary of a FIX version, or a FixSetupError saying where we looked."""
    name = DICTIONARY_FILES.get(begin_string)
    if name is None:
        raise FixSetupError(f"no quickfix data dictionary is known for BeginString {begin_string}")
    searched = dictionary_directories()
    for directory in searched:
        path = directory / name
        if path.is_file():
            return path
    where = ", ".join(str(d) for d in searched)
    raise FixSetupError(
        f"quickfix data dictionary {name} for {begin_string} not found (looked in {where}); "
        "reinstall the quickfix wheel into this environment"
    )


# Settings.


@dataclass(frozen=True)
class SessionSpec:
    """One quickfix session: its identity and the settings that differ from the defaults."""

    begin_string: str
    sender_comp_id: str
    target_comp_id: str
    options: Mapping[str, SettingValue] = field(default_factory=dict)

    @property
    def session_id(self) -> quickfix.SessionID:
        return quickfix.SessionID(self.begin_string, self.sender_comp_id, self.target_comp_id)


def build_settings(
    defaults: Mapping[str, SettingValue], sessions: Iterable[SessionSpec]
) -> quickfix.SessionSettings:
    """quickfix SessionSettings from the [DEFAULT] values and one entry per session.

    Every session that validates (UseDataDictionary=Y, the default here) gets the data
    dictionary of its BeginString unless it names one.
    """
    settings = quickfix.SessionSettings()
    merged_defaults = {**VALIDATION, **defaults}
    try:
        # Defaults first: quickfix merges them into each session as the session is added.
        settings.set(_dictionary(merged_defaults, "[DEFAULT]"))
        for spec in sessions:
            options: dict[str, SettingValue] = dict(spec.options)
            validates = str(options.get("UseDataDictionary", merged_defaults["UseDataDictionary"]))
            if validates == "Y" and "DataDictionary" not in options:
                options["DataDictionary"] = dictionary_path(spec.begin_string)
            settings.set(spec.session_id, _dictionary(options, str(spec.session_id)))
    except quickfix.ConfigError as error:
        raise FixSetupError(f"quickfix refused the session settings: {error}") from error
    return settings


def _dictionary(values: Mapping[str, SettingValue], where: str) -> quickfix.Dictionary:
    dictionary = quickfix.Dictionary()
    for key, value in values.items():
        text = _setting_text(value)
        if "\n" in text or "\r" in text:
            raise FixSetupError(f"{where}: setting {key} spans lines: {text!r}")
        dictionary.setString(key, text)
    return dictionary


def _setting_text(value: SettingValue) -> str:
    if isinstance(value, bool):
        return "Y" if value else "N"
    return str(value)


def store_factory(
    kind: str, settings: quickfix.SessionSettings
) -> quickfix.MessageStoreFactory:
    """A message store factory: "memory" forgets sequence numbers, "file" keeps them in the
    FileStorePath the settings name."""
    if kind == "memory":
        return quickfix.MemoryStoreFactory()
    if kind == "file":
        return quickfix.FileStoreFactory(settings)
    raise FixSetupError(f"unknown message store {kind!r}: use memory or file")


def comp_ids(session_id: quickfix.SessionID) -> tuple[str, str]:
    """(SenderCompID, TargetCompID) of a quickfix SessionID, as our side sees them."""
    return session_id.getSenderCompID().getValue(), session_id.getTargetCompID().getValue()


# The guarded Application.

# The quickfix exceptions each callback may raise on purpose (quickfix answers them with a
# session Reject, a BusinessMessageReject or a Logout). Anything else is a bug of ours.
_FROM_APP_SIGNALS = (
    quickfix.FieldNotFound,
    quickfix.IncorrectDataFormat,
    quickfix.IncorrectTagValue,
    quickfix.UnsupportedMessageType,
)
_FROM_ADMIN_SIGNALS = (
    quickfix.FieldNotFound,
    quickfix.IncorrectDataFormat,
    quickfix.IncorrectTagValue,
    quickfix.RejectLogon,
)


class GuardedApplication(quickfix.Application):  # type: ignore[misc]
    """A quickfix Application whose callbacks can never end the process.

    Subclasses override the snake_case hooks (`on_logon`, `from_app`, ...), never the
    quickfix callbacks themselves. An exception escaping a hook is logged with the session and
    the message, then handed to `callback_failed`, which may answer it (by default it does
    nothing more). A Logon whose handling fails is refused: a session is never let in by a
    bug.

    Hooks run on quickfix's threads holding that session's lock: they must not block, and
    must not send to any other session.
    """

    # time.monotonic() when a callback last ran: how long the session thread has been quiet.
    last_callback = 0.0

    # Hooks for subclasses.

    def on_create(self, session_id: quickfix.SessionID) -> None:
        """A session was created (at start, for every configured session)."""

    def on_logon(self, session_id: quickfix.SessionID) -> None:
        """The session logged on."""

    def on_logout(self, session_id: quickfix.SessionID) -> None:
        """The session logged out or its connection dropped."""

    def to_admin(self, message: quickfix.Message, session_id: quickfix.SessionID) -> None:
        """An administrative message is about to be sent; it may be amended."""

    def from_admin(self, message: quickfix.Message, session_id: quickfix.SessionID) -> None:
        """An administrative message arrived (a Logon may be refused with RejectLogon)."""

    def to_app(self, message: quickfix.Message, session_id: quickfix.SessionID) -> None:
        """An application message is about to be sent."""

    def from_app(self, message: quickfix.Message, session_id: quickfix.SessionID) -> None:
        """An application message arrived."""

    def callback_failed(
        self,
        callback: str,
        message: quickfix.Message | None,
        session_id: quickfix.SessionID,
        error: BaseException,
    ) -> None:
        """A hook raised `error` (already logged); answer the message here if it needs one."""

    # The quickfix callbacks.

    def onCreate(self, session_id: quickfix.SessionID) -> None:
        self._guard("onCreate", None, session_id, self.on_create, (session_id,))

    def onLogon(self, session_id: quickfix.SessionID) -> None:
        self._guard("onLogon", None, session_id, self.on_logon, (session_id,))

    def onLogout(self, session_id: quickfix.SessionID) -> None:
        self._guard("onLogout", None, session_id, self.on_logout, (session_id,))

    def toAdmin(self, message: quickfix.Message, session_id: quickfix.SessionID) -> None:
        self._guard("toAdmin", message, session_id, self.to_admin, (message, session_id))

    def toApp(self, message: quickfix.Message, session_id: quickfix.SessionID) -> None:
        self._guard("toApp", message, session_id, self.to_app, (message, session_id))

    def fromAdmin(self, message: quickfix.Message, session_id: quickfix.SessionID) -> None:
        self.last_callback = time.monotonic()
        try:
            self.from_admin(message, session_id)
        except _FROM_ADMIN_SIGNALS:
            raise
        except BaseException as error:  # escaping would end the process
            self._failed("fromAdmin", message, session_id, error)
            if _msg_type(message) == "A":
                raise quickfix.RejectLogon("internal error while checking the logon") from None

    def fromApp(self, message: quickfix.Message, session_id: quickfix.SessionID) -> None:
        self.last_callback = time.monotonic()
        try:
            self.from_app(message, session_id)
        except _FROM_APP_SIGNALS:
            raise
        except BaseException as error:  # escaping would end the process
            self._failed("fromApp", message, session_id, error)

    def _guard(
        self,
        callback: str,
        message: quickfix.Message | None,
        session_id: quickfix.SessionID,
        hook: object,
        arguments: tuple[object, ...],
    ) -> None:
        self.last_callback = time.monotonic()
        try:
            hook(*arguments)  # type: ignore[operator]
        except BaseException as error:  # escaping would end the process
            self._failed(callback, message, session_id, error)

    def _failed(
        self,
        callback: str,
        message: quickfix.Message | None,
        session_id: quickfix.SessionID,
        error: BaseException,
    ) -> None:
        try:
            text = _printable(message) if message is not None else "-"
            log.error("%s failed: session=%s message=%s", callback, session_id, text,
                      exc_info=error)
            self.callback_failed(callback, message, session_id, error)
        except BaseException:  # the last line of defence
            try:
                log.exception("%s failure handling failed: session=%s", callback, session_id)
            except BaseException:
                pass


# Stopping.


def stop_quietly(
    engine: quickfix.Acceptor | quickfix.Initiator,
    application: GuardedApplication,
    session_ids: Iterable[quickfix.SessionID],
    *,
    reason: str = "",
    timeout: float = 3.0,
    quiet: float = 0.1,
) -> None:
    """Log every session out, wait until none is logged on and no callback has run for
    `quiet` seconds (or `timeout` passes), then stop the acceptor or initiator."""
    ids = list(session_ids)
    for session_id in ids:
        session = quickfix.Session.lookupSession(session_id)
        if session is not None and session.isLoggedOn():
            # Logout(35=5) now: Session.logout() would wait for quickfix's next 1 s tick.
            # quickfix then takes the peer's Logout as a request, answers it and hangs up.
            quickfix.Session.sendToTarget(build_message("5", [(58, reason)] if reason else []),
                                          session_id)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        now = time.monotonic()
        logged_on = any(
            s is not None and s.isLoggedOn()
            for s in (quickfix.Session.lookupSession(i) for i in ids)
        )
        if not logged_on and now - application.last_callback >= quiet:
            break
        time.sleep(quiet / 4)
    else:
        log.warning("sessions still busy after %.1f s; stopping anyway", timeout)
    engine.stop(True)


def _msg_type(message: quickfix.Message) -> str:
    try:
        return str(message.getHeader().getField(35))
    except BaseException:
        return ""


def _printable(message: quickfix.Message) -> str:
    try:
        return printable(masked_text(message))
    except BaseException:
        return "<unprintable message>"
