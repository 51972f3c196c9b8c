"""`oms`: the one console script. Each command's arguments are declared here; the work is
done by the module that owns it, imported only when its command runs."""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from collections.abc import Sequence

from oms.config import DEFAULT_CONFIG, ConfigError
from oms.refdata import ReferenceDataError

# command -> "module:function" taking the parsed arguments and returning an exit status.
_HANDLERS = {
    "serve": "oms.serve:main",
    "venue": "gateways.simvenue.server:main",
    "order": "gateways.fix.client:main",
    "demo": "gateways.demo:main",
    "replay": "gateways.fix.replay:main",
    "audit": "compliance.audit.cli:main",
    "admin": "oms.admin:main",
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="oms", description="Order management system: FIX in, risk, routing, audit."
    )
    parser.add_argument("--log-level", default="INFO", help="DEBUG, INFO, WARNING or ERROR")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    serve = commands.add_parser("serve", help="run the OMS (FIX acceptor, engine, venues)")
    serve.add_argument("--config", default=str(DEFAULT_CONFIG), help="configuration file")

    venue = commands.add_parser("venue", help="run a standalone simulated FIX 4.4 venue")
    venue.add_argument("--config", default=str(DEFAULT_CONFIG),
                       help="configuration whose instruments the venue lists")
    venue.add_argument("--host", default="127.0.0.1")
    venue.add_argument("--port", type=int, default=9877)
    venue.add_argument("--comp-id", default="VENUE", help="the venue's SenderCompID")
    venue.add_argument("--client-comp-id", default="OMS", help="the OMS's SenderCompID")

    order = commands.add_parser("order", help="a trader's FIX client: send one request")
    order.add_argument("--host", default="127.0.0.1")
    order.add_argument("--port", type=int, default=9876)
    order.add_argument("--sender", default="CLIENT1", help="our SenderCompID")
    order.add_argument("--target", default="OMS", help="the OMS's CompID")
    order.add_argument("--fix", default="4.4", choices=["4.2", "4.4"], help="FIX version")
    order.add_argument("--wait", type=_seconds, default=3.0,
                       help="seconds to wait for the answers (above 0)")
    order.add_argument("--config", default=str(DEFAULT_CONFIG),
                       help="OMS configuration a refused logon is explained from")
    actions = order.add_subparsers(dest="action", required=True, metavar="ACTION")
    new = actions.add_parser("new", help="NewOrderSingle")
    new.add_argument("side", choices=["buy", "sell", "short", "short-exempt"])
    new.add_argument("quantity")
    new.add_argument("symbol")
    new.add_argument("price", nargs="?", help="limit price (leave out for a market order)")
    new.add_argument("--type", default=None,
                     choices=["market", "limit", "stop", "stop-limit"])
    new.add_argument("--stop", help="stop price")
    new.add_argument("--tif", default="day", choices=["day", "gtc", "ioc", "fok", "gtd"])
    new.add_argument("--expire", help="ExpireTime for GTD, as YYYYMMDD-HH:MM:SS (UTC)")
    new.add_argument("--account")
    new.add_argument("--cl-ord-id")
    restated = (
        "; the order's %s not given are looked up with an OrderStatusRequest whose answer "
        "is not printed"
    )
    cancel = actions.add_parser(
        "cancel", help="OrderCancelRequest",
        description="OrderCancelRequest (35=F)" + restated % "Side and Symbol",
    )
    cancel.add_argument("orig_cl_ord_id")
    cancel.add_argument("--cl-ord-id")
    cancel.add_argument("--side", choices=["buy", "sell", "short", "short-exempt"],
                        help="the order's Side(54)")
    cancel.add_argument("--symbol", help="the order's Symbol(55)")
    replace = actions.add_parser(
        "replace", help="OrderCancelReplaceRequest",
        description="OrderCancelReplaceRequest (35=G)" + restated % "Side, Symbol, OrdType "
        "and price",
    )
    replace.add_argument("orig_cl_ord_id")
    replace.add_argument("quantity")
    replace.add_argument("price", nargs="?")
    replace.add_argument("--cl-ord-id")
    replace.add_argument("--side", choices=["buy", "sell", "short", "short-exempt"],
                         help="the order's Side(54)")
    replace.add_argument("--symbol", help="the order's Symbol(55)")
    replace.add_argument("--type", choices=["market", "limit", "stop", "stop-limit"],
                         help="the order's OrdType(40) (a replace cannot change it)")
    status = actions.add_parser("status", help="OrderStatusRequest")
    status.add_argument("cl_ord_id")

    demo = commands.add_parser(
        "demo", help="replay a day of real exchange order flow (LOBSTER) through the OMS"
    )
    demo.add_argument("--lobster", required=True, help="LOBSTER message file (CSV)")
    demo.add_argument("--symbol", default=None, help="instrument (default: from file name)")
    demo.add_argument("--limit", type=int, default=0, help="stop after this many events")
    demo.add_argument("--sessions", type=int, default=2, help="client sessions to spread over")
    demo.add_argument("--in-flight", type=int, default=64, help="requests in flight at most")
    demo.add_argument("--port", type=int, default=0, help="acceptor port (0: a free one)")
    demo.add_argument("--no-progress", action="store_true")
    demo.add_argument("--audit-mode", default="durable", choices=["durable", "async", "off"],
                      help="audit log mode of the demo's OMS")
    demo.add_argument("--directory", help="run directory (default: a new one in var/demo)")

    replay = commands.add_parser(
        "replay", help="send the client messages of another engine's FIX log through the OMS"
    )
    replay.add_argument("fixlog", help="FIX message log (SOH or another delimiter)")
    replay.add_argument("--host", default="127.0.0.1")
    replay.add_argument("--port", type=int, default=9876)
    replay.add_argument("--sender", default=None,
                        help="our session (default: CLIENT1 for a FIX 4.4 log, CLIENT3 for 4.2)")
    replay.add_argument("--target", default="OMS")
    replay.add_argument("--wait", type=_seconds, default=5.0,
                        help="seconds to wait for each request's answer")
    replay.add_argument("--symbol-map", action="append", default=[], metavar="FROM=TO",
                        help="send Symbol(55) FROM as TO (repeatable)")
    replay.add_argument("--keep-unknown-tags", action="store_true",
                        help="send tags our data dictionary refuses (the OMS rejects them)")
    replay.add_argument("--keep-account", action="store_true",
                        help="send the log's Account(1) (default: the session's account)")
    replay.add_argument("--prefix", default="", metavar="TEXT",
                        help="put TEXT before every ClOrdID and OrigClOrdID sent, so that a "
                        "log already replayed into this OMS can be sent again")

    audit = commands.add_parser("audit", help="compliance queries over the audit log")
    audit.add_argument("--config", default=str(DEFAULT_CONFIG),
                       help="configuration whose audit directory to read")
    audit.add_argument("--directory", help="audit log directory (overrides --config)")
    audit.add_argument("--no-progress", action="store_true")
    queries = audit.add_subparsers(dest="query", required=True, metavar="QUERY")
    trail = queries.add_parser("trail", help="an order's whole lifecycle")
    trail.add_argument("id", help="ClOrdID or OrderID")
    orders = queries.add_parser("orders", help="orders with their latest state")
    orders.add_argument("--account")
    orders.add_argument("--symbol")
    orders.add_argument("--status", help="OrdStatus, e.g. Filled or 'Partially Filled'")
    orders.add_argument("--since", help="ISO time (UTC)")
    orders.add_argument("--until", help="ISO time (UTC)")
    sql = queries.add_parser("sql", help="SQL over the events (DuckDB, table events)")
    sql.add_argument("statement", metavar="QUERY")
    export = queries.add_parser("export", help="export as Parquet (by trading day) or CSV")
    export.add_argument("--format", choices=["parquet", "csv"], default="parquet")
    export.add_argument("--output", required=True)
    queries.add_parser("verify", help="check the hash chain of every segment")
    admin = commands.add_parser("admin", help="operator commands to a running OMS")
    admin.add_argument("--config", default=str(DEFAULT_CONFIG),
                       help="configuration whose admin endpoint to call")
    controls = admin.add_subparsers(dest="action", required=True, metavar="ACTION")
    kill = controls.add_parser("kill-switch", help="deny every new order (cancels pass)")
    kill.add_argument("state", choices=["on", "off"])
    kill.add_argument("--account", help="one account (default: all accounts)")
    controls.add_parser("end-of-day", help="end the trading day: Day orders are done")
    listing = controls.add_parser("open-orders", help="live orders")
    listing.add_argument("--account")
    listing.add_argument("--symbol")
    depth = controls.add_parser("depth", help="the OMS book's price levels of an instrument")
    depth.add_argument("symbol")
    depth.add_argument("--levels", type=int, default=5)
    controls.add_parser("risk", help="kill switches and each account's usage")
    controls.add_parser("digest", help="a hash of the whole engine state")
    return parser


def _seconds(text: str) -> float:
    """A wait in seconds: a number above 0."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"must be a number of seconds above 0, not {text}")
    return value


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=getattr(logging, str(args.log_level).upper(), logging.INFO),
        format="%(asctime)s %(levelname)s %(name)s %(message)s",
        stream=sys.stderr,
    )
    module_name, function_name = _HANDLERS[args.command].split(":")
    handler = getattr(importlib.import_module(module_name), function_name)
    try:
        return int(handler(args) or 0)
    except (ConfigError, ReferenceDataError) as error:
        # A file the command cannot use: one line naming it, not a traceback.
        print(f"oms {args.command}: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
