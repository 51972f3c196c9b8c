"""Shared quickfix pieces: dictionary lookup, settings, stores, guarded callbacks."""

from __future__ import annotations

import logging
import sys
from pathlib import Path

import pytest
import quickfix

from gateways.fix import session as fix_session
from gateways.fix.session import (
    FixSetupError,
    GuardedApplication,
    SessionSpec,
    build_settings,
    dictionary_path,
    store_factory,
)
from gateways.fix.settings import acceptor_settings, is_loopback
from oms.config import ClientSessionConfig, FixAcceptorConfig

SESSION = quickfix.SessionID("FIX.4.4", "OMS", "CLIENT1")


class TestDictionaries:
    @pytest.mark.parametrize(("begin_string", "name"), [("FIX.4.4", "FIX44.xml"),
                                                        ("FIX.4.2", "FIX42.xml")])
    def test_the_dictionary_of_each_version_is_found_in_the_environment(
        self, begin_string: str, name: str
    ) -> None:
        path = dictionary_path(begin_string)
        assert path.name == name and path.is_file()
        assert str(path).startswith(sys.prefix)

    def test_a_missing_dictionary_fails_naming_the_file_and_the_places_searched(
        self, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
    ) -> None:
        monkeypatch.setattr(fix_session, "dictionary_directories", lambda: [tmp_path])
        with pytest.raises(FixSetupError, match=r"FIX44\.xml .*not found.*" + str(tmp_path)):
            dictionary_path("FIX.4.4")

    def test_an_unknown_version_fails_clearly(self) -> None:
        with pytest.raises(FixSetupError, match="FIXT.1.1"):
            dictionary_path("FIXT.1.1")


class TestSettings:
    def fix_config(self, **overrides: object) -> FixAcceptorConfig:
        sessions = (ClientSessionConfig(sender_comp_id="CLIENT1"),
                    ClientSessionConfig(sender_comp_id="CLIENT3", begin_string="FIX.4.2"))
        return FixAcceptorConfig(**{"port": 9999, "store": "memory", "sessions": sessions,
                                    **overrides})  # type: ignore[arg-type]

    def test_the_acceptor_has_one_validating_session_per_client(self, tmp_path: Path) -> None:
        settings = acceptor_settings(self.fix_config(), tmp_path)
        client1 = settings.get(quickfix.SessionID("FIX.4.4", "OMS", "CLIENT1"))
        client3 = settings.get(quickfix.SessionID("FIX.4.2", "OMS", "CLIENT3"))
        assert client1.getString("ConnectionType") == "acceptor"
        assert client1.getString("SocketAcceptPort") == "9999"
        assert client1.getString("UseDataDictionary") == "Y"
        assert client1.getString("DataDictionary").endswith("FIX44.xml")
        assert client3.getString("DataDictionary").endswith("FIX42.xml")
        for key in ("ResetOnLogon", "ResetOnLogout", "ResetOnDisconnect"):
            assert client1.getString(key) == "N"
        assert client1.getString("AllowedRemoteAddresses") == "127.0.0.1"
        assert not client1.has("FileStorePath")

    def test_a_file_store_lives_under_the_data_directory(self, tmp_path: Path) -> None:
        settings = acceptor_settings(self.fix_config(store="file"), tmp_path)
        path = settings.get(SESSION).getString("FileStorePath")
        assert Path(path) == tmp_path / "fix" / "store" and Path(path).is_dir()
        assert isinstance(store_factory("file", settings), quickfix.FileStoreFactory)

    def test_a_host_other_than_loopback_allows_every_address(self, tmp_path: Path) -> None:
        settings = acceptor_settings(self.fix_config(host="0.0.0.0"), tmp_path)
        assert not settings.get(SESSION).has("AllowedRemoteAddresses")
        assert is_loopback("localhost") and is_loopback("127.0.0.2") and not is_loopback("::0")

    def test_a_setting_spanning_lines_is_refused(self) -> None:
        with pytest.raises(FixSetupError, match="spans lines"):
            build_settings({"SenderCompID": "OMS\nEvil=Y"}, [])

    def test_a_session_quickfix_refuses_is_a_setup_error(self) -> None:
        with pytest.raises(FixSetupError, match="quickfix refused"):
            build_settings({"ConnectionType": "sideways"},
                           [SessionSpec("FIX.4.4", "OMS", "CLIENT1")])

    def test_an_unknown_store_is_refused(self) -> None:
        with pytest.raises(FixSetupError, match="unknown message store"):
            store_factory("tape", quickfix.SessionSettings())


class Exploding(GuardedApplication):
    """Every hook raises; `answered` records what `callback_failed` was told."""

    def __init__(self, error: BaseException) -> None:
        super().__init__()
        self.error = error
        self.answered: list[str] = []

    def raise_it(self, *args: object) -> None:
        raise self.error

    on_create = on_logon = on_logout = raise_it  # type: ignore[assignment]
    to_admin = from_admin = to_app = from_app = raise_it  # type: ignore[assignment]

    def callback_failed(self, callback: str, message: object, session_id: object,
                        error: BaseException) -> None:
        self.answered.append(callback)


def logon() -> quickfix.Message:
    message = quickfix.Message()
    message.getHeader().setField(35, "A")
    return message


class TestGuardedApplication:
    @pytest.mark.parametrize("error", [ValueError("bug"), KeyboardInterrupt(), SystemExit(3)])
    def test_no_exception_escapes_a_callback(
        self, error: BaseException, caplog: pytest.LogCaptureFixture
    ) -> None:
        app = Exploding(error)
        message = quickfix.Message()
        message.getHeader().setField(35, "D")
        app.onCreate(SESSION)
        app.onLogon(SESSION)
        app.onLogout(SESSION)
        app.toAdmin(message, SESSION)
        app.toApp(message, SESSION)
        app.fromApp(message, SESSION)
        app.fromAdmin(message, SESSION)
        assert app.answered == ["onCreate", "onLogon", "onLogout", "toAdmin", "toApp",
                                "fromApp", "fromAdmin"]
        assert sum(r.levelno == logging.ERROR for r in caplog.records) == 7

    def test_a_failure_while_checking_a_logon_refuses_the_logon(self) -> None:
        with pytest.raises(quickfix.RejectLogon):
            Exploding(ValueError("bug")).fromAdmin(logon(), SESSION)

    @pytest.mark.parametrize(
        "signal",
        [quickfix.FieldNotFound(54), quickfix.IncorrectTagValue(54),
         quickfix.IncorrectDataFormat(38), quickfix.UnsupportedMessageType()],
    )
    def test_quickfix_signals_pass_through_from_app(self, signal: Exception) -> None:
        app = Exploding(signal)
        with pytest.raises(type(signal)):
            app.fromApp(quickfix.Message(), SESSION)
        assert app.answered == []

    def test_reject_logon_passes_through_from_admin(self) -> None:
        with pytest.raises(quickfix.RejectLogon):
            Exploding(quickfix.RejectLogon("no")).fromAdmin(logon(), SESSION)

    def test_do_not_send_is_caught_in_to_app_because_it_crashes_quickfix_later(self) -> None:
        app = Exploding(quickfix.DoNotSend())
        app.toApp(quickfix.Message(), SESSION)
        assert app.answered == ["toApp"]

    def test_a_failing_callback_failed_is_logged_and_contained(
        self, caplog: pytest.LogCaptureFixture
    ) -> None:
        app = Exploding(ValueError("bug"))
        app.callback_failed = Exploding.raise_it.__get__(app)  # type: ignore[method-assign]
        app.fromApp(quickfix.Message(), SESSION)
        assert any("failure handling failed" in r.getMessage() for r in caplog.records)
