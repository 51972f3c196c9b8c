"""Configuration: one frozen object per component, read from a TOML file in `config/`.

Unknown keys are refused with an error naming the key and the file, so a misspelt limit
never silently falls back to a default; so are numbers outside their range (a negative
limit, a port of 0, an empty audit batch), naming the key, the value and the file.
Relative paths in the file are relative to the file's own folder.
"""

from __future__ import annotations

import dataclasses
import math
import tomllib
import types
import typing
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any, TypeVar

REPOSITORY_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_CONFIG = REPOSITORY_ROOT / "config" / "oms.toml"


class ConfigError(ValueError):
    """A configuration file that cannot be used; the message names the file and the key."""


@dataclass(frozen=True, kw_only=True)
class ClientSessionConfig:
    """One FIX client session the acceptor serves."""

    sender_comp_id: str
    begin_string: str = "FIX.4.4"
    accounts: tuple[str, ...] = ()
    default_account: str = ""


@dataclass(frozen=True, kw_only=True)
class FixAcceptorConfig:
    host: str = "127.0.0.1"
    port: int = 9876
    comp_id: str = "OMS"
    # "file" keeps sequence numbers across restarts; "memory" forgets them.
    store: str = "file"
    # "file" writes quickfix message logs (with passwords masked out); "none" writes none.
    log: str = "none"
    heartbeat_seconds: int = 30
    sessions: tuple[ClientSessionConfig, ...] = ()


@dataclass(frozen=True, kw_only=True)
class AccountLimits:
    """Pre-trade limits of one account; a zero limit means the check is off."""

    max_order_quantity: int = 0
    max_order_notional: Decimal = Decimal(0)
    price_band_percent: Decimal = Decimal(0)
    max_open_orders: int = 0
    max_position: int = 0
    max_daily_notional: Decimal = Decimal(0)


@dataclass(frozen=True, kw_only=True)
class VenueConfig:
    """A venue orders can be routed to: the embedded matching engine or a FIX venue."""

    name: str
    kind: str = "embedded"
    host: str = "127.0.0.1"
    port: int = 9877
    sender_comp_id: str = "OMS"
    target_comp_id: str = "VENUE"
    reconnect_seconds: int = 2


@dataclass(frozen=True, kw_only=True)
class RoutingConfig:
    default: str = "embedded"
    symbols: dict[str, str] = field(default_factory=dict)
    exchanges: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, kw_only=True)
class AuditConfig:
    directory: Path = Path("var/audit")
    # "durable": reports wait for fsync; "async": written and fsynced behind the reports;
    # "off": no log at all (benchmarks only).
    mode: str = "durable"
    segment_bytes: int = 64 * 1024 * 1024
    batch_events: int = 1024
    batch_window_ms: float = 1.0
    # "thread": a thread of the OMS converts, writes and fsyncs; "process": a writer
    # process of its own does, off the OMS's GIL (compliance/audit/process.py). On two
    # cores shared with the load client, "thread" measured the shorter ack latency.
    writer: str = "thread"


@dataclass(frozen=True, kw_only=True)
class MetricsConfig:
    host: str = "127.0.0.1"
    port: int = 9464
    enabled: bool = True


@dataclass(frozen=True, kw_only=True)
class AdminConfig:
    """The operators' control endpoint (XML-RPC on loopback): kill switch, end of day."""

    host: str = "127.0.0.1"
    port: int = 9465
    enabled: bool = True


@dataclass(frozen=True, kw_only=True)
class OmsConfig:
    path: Path
    instruments: Path
    data_directory: Path = Path("var")
    fix: FixAcceptorConfig = FixAcceptorConfig()
    accounts: dict[str, AccountLimits] = field(default_factory=dict)
    venues: dict[str, VenueConfig] = field(default_factory=dict)
    routing: RoutingConfig = RoutingConfig()
    audit: AuditConfig = AuditConfig()
    metrics: MetricsConfig = MetricsConfig()
    admin: AdminConfig = AdminConfig()


T = TypeVar("T")
Number = int | float | Decimal

_LOWEST_PORT, _HIGHEST_PORT = 1, 65535


def load_config(path: Path | str | None = None) -> OmsConfig:
    """Read and check an OMS configuration file (the shipped default when `path` is None)."""
    file = Path(path) if path is not None else DEFAULT_CONFIG
    try:
        raw = tomllib.loads(file.read_text(encoding="utf-8"))
    except OSError as error:
        raise ConfigError(f"{file}: cannot read: {error.strerror}") from error
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"{file}: not valid TOML: {error}") from error
    base = file.resolve().parent

    raw.setdefault("instruments", "instruments.csv")
    venues = raw.pop("venues", {"embedded": {"kind": "embedded"}})
    raw["venues"] = {
        name: {**_table(spec, f"venues.{name}", file), "name": name}
        for name, spec in _table(venues, "venues", file).items()
    }
    config = _build(OmsConfig, {**raw, "path": str(file)}, "", file)
    config = dataclasses.replace(
        config,
        instruments=_resolve(base, config.instruments),
        data_directory=_resolve(base, config.data_directory),
        audit=dataclasses.replace(config.audit, directory=_resolve(base, config.audit.directory)),
    )
    _check(config, file)
    return config


def _check(config: OmsConfig, file: Path) -> None:
    _check_numbers(config, file)
    if config.audit.mode not in ("durable", "async", "off"):
        raise ConfigError(
            f"{file}: audit.mode must be durable, async or off: {config.audit.mode!r}"
        )
    if config.audit.writer not in ("process", "thread"):
        raise ConfigError(
            f"{file}: audit.writer must be process or thread: {config.audit.writer!r}"
        )
    if config.fix.store not in ("file", "memory"):
        raise ConfigError(f"{file}: fix.store must be file or memory: {config.fix.store!r}")
    if config.fix.log not in ("file", "none"):
        raise ConfigError(f"{file}: fix.log must be file or none: {config.fix.log!r}")
    for venue in config.venues.values():
        if venue.kind not in ("embedded", "fix"):
            raise ConfigError(f"{file}: venues.{venue.name}.kind must be embedded or fix")
    routed = [config.routing.default, *config.routing.symbols.values()]
    routed += list(config.routing.exchanges.values())
    for name in routed:
        if name not in config.venues:
            raise ConfigError(
                f"{file}: routing names venue {name!r}, which [venues] does not define"
            )
    seen: set[str] = set()
    for session in config.fix.sessions:
        if session.begin_string not in ("FIX.4.2", "FIX.4.4"):
            raise ConfigError(
                f"{file}: fix.sessions {session.sender_comp_id}: begin_string must be "
                f"FIX.4.2 or FIX.4.4, not {session.begin_string!r}"
            )
        if session.sender_comp_id in seen:
            raise ConfigError(f"{file}: fix.sessions lists {session.sender_comp_id} twice")
        seen.add(session.sender_comp_id)
        for account in (*session.accounts, session.default_account):
            if account and account not in config.accounts:
                raise ConfigError(
                    f"{file}: fix.sessions {session.sender_comp_id}: account {account!r} "
                    "has no [accounts] table"
                )


def _check_numbers(config: OmsConfig, file: Path) -> None:
    """Every number within its range, or a ConfigError naming the key, the value and the
    file."""
    ports = [("fix.port", config.fix.port), ("metrics.port", config.metrics.port),
             ("admin.port", config.admin.port)]
    ports += [(f"venues.{v.name}.port", v.port) for v in config.venues.values()]
    for key, port in ports:
        if not _LOWEST_PORT <= port <= _HIGHEST_PORT:
            raise ConfigError(
                f"{file}: {key} must be a port from {_LOWEST_PORT} to {_HIGHEST_PORT}, "
                f"not {port}"
            )
    # (key, value, lowest value allowed)
    bounds: list[tuple[str, Number, int]] = [
        ("fix.heartbeat_seconds", config.fix.heartbeat_seconds, 1),
        ("audit.segment_bytes", config.audit.segment_bytes, 1),
        ("audit.batch_events", config.audit.batch_events, 1),
        ("audit.batch_window_ms", config.audit.batch_window_ms, 0),
    ]
    bounds += [(f"venues.{v.name}.reconnect_seconds", v.reconnect_seconds, 1)
               for v in config.venues.values()]
    # A limit of 0 turns its check off; below 0 it would deny every order, or none.
    for account, limits in config.accounts.items():
        bounds += [(f"accounts.{account}.{f.name}", getattr(limits, f.name), 0)
                   for f in dataclasses.fields(limits)]
    for key, value, lowest in bounds:
        finite = value.is_finite() if isinstance(value, Decimal) else math.isfinite(value)
        if not finite or value < lowest:
            raise ConfigError(f"{file}: {key} must be {lowest} or more, not {value}")


def _resolve(base: Path, path: Path) -> Path:
    return path if path.is_absolute() else (base / path).resolve()


def _table(value: Any, where: str, file: Path) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ConfigError(f"{file}: {where} must be a table")
    return value


def _build(cls: type[T], raw: Any, where: str, file: Path) -> T:
    """Build dataclass `cls` from a TOML table, refusing unknown keys and wrong types."""
    table = _table(raw, where or "the top level", file)
    fields = {f.name: f for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    hints = typing.get_type_hints(cls)
    values: dict[str, Any] = {}
    for key, value in table.items():
        name = f"{where}.{key}" if where else key
        if key not in fields:
            raise ConfigError(f"{file}: unknown key {name!r}")
        values[key] = _convert(hints[key], value, name, file)
    try:
        return cls(**values)
    except TypeError as error:
        raise ConfigError(f"{file}: {where or 'the top level'}: {error}") from error


def _convert(hint: Any, value: Any, name: str, file: Path) -> Any:
    origin = typing.get_origin(hint)
    if dataclasses.is_dataclass(hint):
        return _build(hint, value, name, file)  # type: ignore[arg-type]
    if origin is tuple:
        (item,) = {a for a in typing.get_args(hint) if a is not Ellipsis}
        if not isinstance(value, list):
            raise ConfigError(f"{file}: {name} must be a list")
        return tuple(_convert(item, v, f"{name}[{i}]", file) for i, v in enumerate(value))
    if origin is dict:
        _, item = typing.get_args(hint)
        table = _table(value, name, file)
        return {k: _convert(item, v, f"{name}.{k}", file) for k, v in table.items()}
    if origin in (types.UnionType, typing.Union):
        hint = next(a for a in typing.get_args(hint) if a is not type(None))
    if hint is Decimal:
        if isinstance(value, bool) or not isinstance(value, (int, str)):
            raise ConfigError(f"{file}: {name} must be a whole number or a decimal string")
        try:
            return Decimal(value)
        except ArithmeticError as error:
            raise ConfigError(f"{file}: {name} is not a decimal: {value!r}") from error
    if hint is Path:
        if not isinstance(value, str):
            raise ConfigError(f"{file}: {name} must be a path string")
        return Path(value)
    if hint is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if hint in (int, str, bool, float):
        if not isinstance(value, hint) or (hint is int and isinstance(value, bool)):
            raise ConfigError(f"{file}: {name} must be {hint.__name__}, not {value!r}")
        return value
    raise ConfigError(f"{file}: {name}: unsupported setting type {hint!r}")
