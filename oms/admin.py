"""The operators' control endpoint: XML-RPC on loopback (the standard library's server).

Risk officers and operators reach a running OMS through `oms admin`: engage or release the
kill switch (one account, or all), end the trading day, look at open orders and depth.
Every call runs on the engine thread, between two orders, never beside one.

The kill switch is recorded in the audit log (a `kill_switch` event with the operator's
reason) before the call returns, and a restart over the same log restores it. Releasing it
for all accounts releases every account's own switch as well. `system.methodHelp` on the
endpoint returns each method's docstring.
"""

from __future__ import annotations

import logging
import sys
import threading
import xmlrpc.client
from typing import Any
from xmlrpc.server import SimpleXMLRPCRequestHandler, SimpleXMLRPCServer

from compliance.risk import UnknownAccount
from oms.model import Account, Symbol, TimeInForce, price_to_decimal
from oms.runtime import Runtime

log = logging.getLogger(__name__)

# XML-RPC fault code of a call refused for its arguments (the text names the argument).
REFUSED = 1


class _QuietHandler(SimpleXMLRPCRequestHandler):
    rpc_paths = ("/RPC2",)

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("admin: " + format, *args)


class AdminService:
    """What the endpoint offers; each method returns plain XML-RPC values."""

    def __init__(self, runtime: Runtime) -> None:
        self._runtime = runtime

    def kill_switch(self, engaged: bool, account: str = "", reason: str = "") -> dict[str, Any]:
        """Engage or release the kill switch of `account`, or of every account if empty.

        While it is engaged, new orders and replaces that add quantity are denied; cancels
        still pass. Releasing it for every account releases each account's own switch too;
        releasing one account while the switch for every account is engaged leaves that
        account halted. `reason` is kept in the audit log. An account that is not
        configured is refused (fault code 1, naming it). Returns the risk state.
        """
        if account and not account.strip():
            raise xmlrpc.client.Fault(
                REFUSED, f"kill switch refused: account {account!r} is blank; give an "
                "account, or the empty string for every account"
            )
        try:
            self._runtime.set_kill_switch(account or None, bool(engaged), reason or None)
        except UnknownAccount as error:
            raise xmlrpc.client.Fault(REFUSED, f"kill switch refused: {error}") from error
        return self.risk_state()

    def risk_state(self) -> dict[str, Any]:
        risk = self._runtime.risk

        def read() -> dict[str, Any]:
            return {
                "all_accounts_halted": risk.halted_all,
                "halted_accounts": sorted(risk.halted_accounts),
                "accounts": {
                    account: {
                        "open_orders": usage.open_orders,
                        "traded_notional": str(price_to_decimal(usage.traded_notional)),
                        "positions": {s: e.position for s, e in usage.symbols.items()},
                    }
                    for account, usage in risk.usage.items()
                },
            }

        return self._runtime.call(read)  # type: ignore[no-any-return]

    def end_of_day(self) -> dict[str, Any]:
        """End the trading day: live Day orders on venues that end the day themselves (the
        embedded venue) become Done for Day, and traded notional limits start again.
        Returns `day_orders`, how many Day orders were live on those venues when the day
        ended, and `venues`, their names."""
        engine = self._runtime.engine

        def count() -> dict[str, Any]:
            ending = {
                name for name, venue in engine.venues.items()
                if getattr(venue, "end_of_day", None) is not None
            }
            day_orders = sum(
                1 for order in engine.book.open_orders()
                if order.terms.time_in_force is TimeInForce.DAY and order.venue in ending
            )
            return {"day_orders": day_orders, "venues": sorted(ending)}

        # Counted on the engine thread just before the day ends there (a Day order arriving
        # in between would end uncounted).
        ended: dict[str, Any] = self._runtime.call(count)
        self._runtime.end_of_day()
        return ended

    def open_orders(self, account: str = "", symbol: str = "") -> list[dict[str, Any]]:
        """Live orders, of one account and/or one instrument when given (the empty string
        for all); an account or instrument that is not configured is refused, naming it."""
        self._check_account(account)
        self._check_symbol(symbol)

        def read() -> list[dict[str, Any]]:
            orders = self._runtime.engine.book.open_orders(
                Account(account) if account else None, Symbol(symbol) if symbol else None
            )
            return [
                {
                    "order_id": o.order_id,
                    "session": o.session,
                    "cl_ord_id": o.terms.cl_ord_id,
                    "account": o.terms.account,
                    "symbol": o.terms.symbol,
                    "side": o.terms.side.name.lower(),
                    "quantity": o.terms.quantity,
                    "price": str(price_to_decimal(o.terms.price)) if o.terms.price else "",
                    "cum_quantity": o.cum_quantity,
                    "leaves_quantity": o.leaves_quantity,
                    "ord_status": o.ord_status.label,
                }
                for o in orders
            ]

        return self._runtime.call(read)  # type: ignore[no-any-return]

    def depth(self, symbol: str, levels: int = 5) -> dict[str, list[list[Any]]]:
        """The OMS book's best `levels` price levels of `symbol` (at least 1): [price,
        LeavesQty, orders] per level, bids then asks; an unknown instrument is refused."""
        self._check_symbol(symbol, required=True)
        if not isinstance(levels, int) or isinstance(levels, bool) or levels < 1:
            raise xmlrpc.client.Fault(
                REFUSED, f"depth refused: levels must be a whole number of at least 1, "
                f"not {levels!r}"
            )

        def read() -> dict[str, list[list[Any]]]:
            bids, asks = self._runtime.engine.book.depth(Symbol(symbol), levels)
            return {
                "bids": [[str(price_to_decimal(p)), q, n] for p, q, n in bids],
                "asks": [[str(price_to_decimal(p)), q, n] for p, q, n in asks],
            }

        return self._runtime.call(read)  # type: ignore[no-any-return]

    def digest(self) -> str:
        """A hash of the whole engine state (compare before a restart and after)."""
        return self._runtime.call(self._runtime.engine.digest)  # type: ignore[no-any-return]

    # Arguments are checked against the configuration (read-only once running).

    def _check_account(self, account: str) -> None:
        if account and account not in self._runtime.config.accounts:
            known = ", ".join(sorted(self._runtime.config.accounts))
            raise xmlrpc.client.Fault(
                REFUSED, f"account {account!r} is not configured (accounts: {known})"
            )

    def _check_symbol(self, symbol: str, *, required: bool = False) -> None:
        if required and not symbol:
            raise xmlrpc.client.Fault(REFUSED, "an instrument is required")
        if symbol and Symbol(symbol) not in self._runtime.instruments:
            raise xmlrpc.client.Fault(
                REFUSED, f"instrument {symbol!r} is not in the reference data "
                f"({len(self._runtime.instruments)} instruments)"
            )


class AdminServer:
    def __init__(self, runtime: Runtime, host: str, port: int) -> None:
        self._server = SimpleXMLRPCServer(
            (host, port), requestHandler=_QuietHandler, allow_none=True, logRequests=False
        )
        self._server.register_instance(AdminService(runtime))
        self._server.register_introspection_functions()
        self.address = self._server.server_address
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="oms-admin", daemon=True
        )

    def start(self) -> None:
        self._thread.start()
        log.info("admin endpoint on http://%s:%s/RPC2", *self.address[:2])

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


def connect(host: str, port: int) -> Any:
    return xmlrpc.client.ServerProxy(f"http://{host}:{port}/RPC2", allow_none=True)


def main(args: Any) -> int:
    """`oms admin ...`: one call to a running OMS. Its answer is printed (JSON, or a
    sentence for end-of-day); a refusal is one line on stderr with exit status 1."""
    import json

    from oms.config import load_config

    problem = _argument_problem(args)
    if problem is not None:
        print(f"oms admin {args.action}: {problem}", file=sys.stderr)
        return 2
    config = load_config(args.config)
    proxy = connect(config.admin.host, config.admin.port)
    try:
        if args.action == "kill-switch":
            # TODO: `oms admin kill-switch` has no --reason option yet (its parser is in
            # oms/cli.py); until it has, only XML-RPC callers record a reason.
            reason = getattr(args, "reason", None) or ""
            result = proxy.kill_switch(args.state == "on", args.account or "", reason)
        elif args.action == "end-of-day":
            print(_end_of_day_line(proxy.end_of_day()))
            return 0
        elif args.action == "open-orders":
            result = proxy.open_orders(args.account or "", args.symbol or "")
        elif args.action == "depth":
            result = proxy.depth(args.symbol, args.levels)
        elif args.action == "risk":
            result = proxy.risk_state()
        else:
            result = proxy.digest()
    except ConnectionRefusedError:
        print(f"oms admin {args.action}: no OMS answers at {config.admin.host}:"
              f"{config.admin.port}: is it running?", file=sys.stderr)
        return 1
    except xmlrpc.client.Fault as fault:
        print(f"oms admin {args.action}: {fault.faultString}", file=sys.stderr)
        return 1
    print(json.dumps(result, indent=2, ensure_ascii=False))
    return 0


def _argument_problem(args: Any) -> str | None:
    """What is wrong with the command line before the OMS is asked, or None."""
    account = getattr(args, "account", None)
    if account is not None and not account.strip():
        return (f"--account {account!r} is blank: name an account"
                + (", or leave --account out for every account"
                   if args.action == "kill-switch" else ""))
    if args.action == "depth" and args.levels < 1:
        return f"--levels must be at least 1, not {args.levels}"
    return None


def _end_of_day_line(ended: Any) -> str:
    if not isinstance(ended, dict):
        # An OMS from before end_of_day said what it did.
        return "end of day: done (the OMS does not say how many Day orders ended)"
    count = int(ended.get("day_orders", 0))
    venues = ", ".join(ended.get("venues", [])) or "no venue that ends the day itself"
    orders = f"{count} live Day order{'' if count == 1 else 's'}"
    return (f"end of day: {orders} on {venues} ended as Done for Day; traded notional "
            "limits start again")
