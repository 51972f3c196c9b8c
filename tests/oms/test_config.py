"""The configuration loader: the shipped files load, mistakes are refused by name."""

from __future__ import annotations

import re
from decimal import Decimal
from pathlib import Path

import pytest

from oms.config import DEFAULT_CONFIG, ConfigError, load_config
from oms.refdata import ReferenceDataError, load_instruments

HEADER = "symbol,exchange,currency,tick_size,lot_size,reference_price,tradable"


def write(tmp_path: Path, text: str) -> Path:
    (tmp_path / "instruments.csv").write_text(
        (DEFAULT_CONFIG.parent / "instruments.csv").read_text()
    )
    path = tmp_path / "oms.toml"
    path.write_text(text)
    return path


def test_shipped_config_loads_with_three_sessions_and_their_accounts() -> None:
    config = load_config()
    sessions = {s.sender_comp_id: s for s in config.fix.sessions}
    assert config.fix.port == 9876 and config.fix.comp_id == "OMS"
    assert sessions["CLIENT1"].begin_string == "FIX.4.4"
    assert sessions["CLIENT2"].default_account == "ACC2"
    assert sessions["CLIENT3"].begin_string == "FIX.4.2"
    assert config.accounts["ACC1"].max_order_notional == Decimal("10000000")
    assert config.routing.default == "embedded"


def test_shipped_instruments_hold_twenty_liquid_equities_with_aapl_and_msft() -> None:
    instruments = load_instruments(load_config().instruments)
    tradable = [i for i in instruments.values() if i.tradable]
    assert len(tradable) >= 20
    assert str(instruments["AAPL"].tick_size) == "0.01"
    assert instruments["AAPL"].reference_price == 190 * 10**8
    assert instruments["MSFT"].reference_price == 420 * 10**8
    assert instruments["AAPL"].lot == 1


def test_unknown_key_is_refused_naming_the_key_and_the_file(tmp_path: Path) -> None:
    path = write(tmp_path, '[accounts.A]\nmax_order_quantty = 5\n')
    with pytest.raises(ConfigError, match=r"oms.toml: unknown key 'accounts.A.max_order_quantty'"):
        load_config(path)


def test_wrong_type_is_refused_naming_the_key(tmp_path: Path) -> None:
    path = write(tmp_path, '[fix]\nport = "9876"\n')
    with pytest.raises(ConfigError, match=r"fix.port must be int"):
        load_config(path)


def test_session_with_an_undefined_account_is_refused(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        '[[fix.sessions]]\nsender_comp_id = "C"\naccounts = ["NOPE"]\n',
    )
    with pytest.raises(ConfigError, match=r"account 'NOPE' has no \[accounts\] table"):
        load_config(path)


def test_routing_to_an_undefined_venue_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path, '[routing]\ndefault = "XNYS"\n')
    with pytest.raises(ConfigError, match=r"routing names venue 'XNYS'"):
        load_config(path)


def test_invalid_toml_is_refused_naming_the_file(tmp_path: Path) -> None:
    path = write(tmp_path, "[fix\n")
    with pytest.raises(ConfigError, match=r"oms.toml: not valid TOML"):
        load_config(path)


def test_instrument_price_off_its_tick_grid_is_refused_with_its_line(tmp_path: Path) -> None:
    path = tmp_path / "instruments.csv"
    path.write_text(
        "symbol,exchange,currency,tick_size,lot_size,reference_price,tradable\n"
        "ABC,XNAS,USD,0.05,1,10.01,true\n"
    )
    with pytest.raises(ReferenceDataError, match=r"instruments.csv:2: reference_price"):
        load_instruments(path)


@pytest.mark.parametrize(
    ("table", "text", "message"),
    [("[accounts.ACC1]", "max_order_quantity = -1",
      r"accounts.ACC1.max_order_quantity must be 0 or more, not -1"),
     ("[accounts.ACC1]", 'max_order_notional = "-0.01"',
      r"accounts.ACC1.max_order_notional must be 0 or more, not -0.01"),
     ("[accounts.ACC1]", 'price_band_percent = "NaN"',
      r"accounts.ACC1.price_band_percent must be 0 or more, not NaN"),
     ("[audit]", "batch_window_ms = -0.5", r"audit.batch_window_ms must be 0 or more, not -0.5"),
     ("[audit]", "batch_window_ms = inf", r"audit.batch_window_ms must be 0 or more, not inf"),
     ("[audit]", "segment_bytes = 0", r"audit.segment_bytes must be 1 or more, not 0"),
     ("[audit]", "batch_events = 0", r"audit.batch_events must be 1 or more, not 0"),
     ("[fix]", "heartbeat_seconds = 0", r"fix.heartbeat_seconds must be 1 or more, not 0"),
     ("[fix]", "heartbeat_seconds = -30", r"fix.heartbeat_seconds must be 1 or more, not -30"),
     ("[fix]", "port = 0", r"fix.port must be a port from 1 to 65535, not 0"),
     ("[metrics]", "port = 65536", r"metrics.port must be a port from 1 to 65535, not 65536"),
     ("[admin]", "port = -1", r"admin.port must be a port from 1 to 65535, not -1"),
     ("[venues.embedded]", 'kind = "embedded"\nport = 70000',
      r"venues.embedded.port must be a port from 1 to 65535, not 70000")],
)
def test_a_number_out_of_its_range_is_refused_naming_key_value_and_file(
    tmp_path: Path, table: str, text: str, message: str
) -> None:
    path = write(tmp_path, f"{table}\n{text}\n")
    with pytest.raises(ConfigError) as refused:
        load_config(path)
    assert str(refused.value).startswith(f"{path}: ")
    assert re.search(message, str(refused.value))


def test_zero_limits_turn_their_checks_off_and_load(tmp_path: Path) -> None:
    path = write(tmp_path, "[accounts.A]\nmax_order_quantity = 0\n"
                           'max_order_notional = "0"\n[audit]\nbatch_window_ms = 0\n')
    assert load_config(path).accounts["A"].max_order_quantity == 0


@pytest.mark.parametrize(
    ("csv_text", "message"),
    [("symbol,exchange,currency,lot_size,reference_price,tradable\nABC,XNAS,USD,1,10,true\n",
      r"instruments.csv: missing columns: tick_size"),
     (f"{HEADER}\nABC,XNAS,USD,abc,1,10.00,true\n",
      r"instruments.csv:2: tick_size: not a decimal number: 'abc'"),
     (f"# a comment\n{HEADER}\nABC,XNAS,USD,0.01,1,10.00,true\nDEF,XNAS,USD,0.01,1\n",
      r"instruments.csv:4: 5 fields, the header has 7"),
     (f"{HEADER}\nABC,XNAS,USD,0.01,1,10.00,true,extra\n",
      r"instruments.csv:2: 8 fields, the header has 7"),
     (f"{HEADER}\nABC,XNAS,,0.01,1,10.00,true\n", r"instruments.csv:2: currency is empty"),
     (f"{HEADER}\nABC,XNAS,USD,0.01,1.5,10.00,true\n",
      r"instruments.csv:2: lot_size is not a whole number: '1.5'")],
)
def test_a_bad_instruments_file_is_refused_naming_the_line_and_the_column(
    tmp_path: Path, csv_text: str, message: str
) -> None:
    path = tmp_path / "instruments.csv"
    path.write_text(csv_text)
    with pytest.raises(ReferenceDataError, match=message):
        load_instruments(path)
