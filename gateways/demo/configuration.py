"""The demo's own OMS configuration, built from the shipped one (`config/oms.toml`).

What the demo changes, and why:
- the client sessions: DEMO1..N send the file's orders, cancels and replaces, and CONTRA
  the orders that trade against them; each has an account of its own, so that the venue's
  self-match prevention never stands between two sides of a trade in the file;
- the limits of those accounts: sized for the whole file (its largest order, its volume
  and notional, one open order for each submit), with the shipped price band, so every
  check still runs on every order;
- the FIX port (a free one when asked for port 0) and memory message stores (the demo's
  clients reset their sequence numbers at each Logon);
- the audit log: a fresh directory of this run, in the mode asked for (durable unless
  told otherwise, as in production);
- the instrument: its reference price is the file's first price (the price band is
  measured from it), and it is added when the instruments file lacks it.
"""

from __future__ import annotations

import dataclasses
import socket
from decimal import Decimal
from pathlib import Path

from gateways.demo.flow import FlowPlan
from gateways.lobster import LOBSTER_PRICE_SCALE
from oms.config import AccountLimits, ClientSessionConfig, OmsConfig
from oms.model import PRICE_SCALE, Symbol
from oms.refdata import Instrument, load_instruments, make_instrument

CONTRA = "CONTRA"
_DEFAULT_BAND_PERCENT = Decimal(10)


def session_names(sessions: int) -> list[str]:
    """SenderCompIDs of the client sessions, the contra session last."""
    return [f"DEMO{number}" for number in range(1, sessions + 1)] + [CONTRA]


def free_port() -> int:
    """A TCP port nothing listens on right now (the operating system's pick)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def demo_config(
    base: OmsConfig,
    plan: FlowPlan,
    *,
    sessions: int,
    port: int,
    directory: Path,
    audit_mode: str,
) -> OmsConfig:
    """`base` with the demo's sessions, accounts, port and audit log (see the module)."""
    names = session_names(sessions)
    clients = tuple(
        ClientSessionConfig(
            sender_comp_id=name, begin_string="FIX.4.4", accounts=(name,), default_account=name
        )
        for name in names
    )
    limits = _limits(base, plan)
    return dataclasses.replace(
        base,
        data_directory=directory,
        fix=dataclasses.replace(
            base.fix, port=port or free_port(), store="memory", log="none", sessions=clients
        ),
        accounts={name: limits for name in names},
        audit=dataclasses.replace(base.audit, directory=directory / "audit", mode=audit_mode),
    )


def _limits(base: OmsConfig, plan: FlowPlan) -> AccountLimits:
    """Limits no order of the file breaks, with the price band of the shipped accounts."""
    bands = [a.price_band_percent for a in base.accounts.values() if a.price_band_percent]
    max_price = Decimal(plan.max_price) / LOBSTER_PRICE_SCALE
    notional = Decimal(plan.notional) / LOBSTER_PRICE_SCALE
    return AccountLimits(
        max_order_quantity=max(plan.max_quantity, 1),
        max_order_notional=max(plan.max_quantity * max_price, Decimal(1)),
        price_band_percent=max(bands) if bands else _DEFAULT_BAND_PERCENT,
        max_open_orders=max(plan.count("new"), 1),
        max_position=max(plan.volume, 1),
        max_daily_notional=max(notional, Decimal(1)),
    )


def demo_instruments(
    config: OmsConfig, symbol: str, first_price: int | None
) -> dict[Symbol, Instrument]:
    """The shipped instruments, `symbol` priced at the file's first price (LOBSTER units)."""
    instruments = load_instruments(config.instruments)
    if first_price is None:
        return instruments
    instrument = instruments.get(Symbol(symbol))
    if instrument is None:
        instrument = make_instrument(symbol, "0.01", 1, "0.01")
    # On the instrument's tick grid, as the reference data requires.
    units = first_price * (PRICE_SCALE // LOBSTER_PRICE_SCALE)
    reference = max(units // instrument.tick, 1) * instrument.tick
    instruments[Symbol(symbol)] = instrument.with_reference_price(reference)
    return instruments
