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
import threading
import xmlrpc.client
from typing import Any
from xmlrpc.server import SimpleXMLRPCRequestHandler, SimpleXMLRPCServer

from compliance.risk import UnknownAccount
from oms.model import Account, Symbol, price_to_decimal
from oms.runtime import Runtime

log = logging.getLogger(__name__)


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
        try:
            self._runtime.set_kill_switch(account or None, bool(engaged), reason or None)
        except UnknownAccount as error:
            raise xmlrpc.client.Fault(1, f"kill switch refused: {error}") from error
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

    def end_of_day(self) -> bool:
        """End the trading day: Day orders end on the embedded venue (Done for Day)."""
        self._runtime.end_of_day()
        return True

    def open_orders(self, account: str = "", symbol: str = "") -> list[dict[str, Any]]:
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
    """`oms admin ...`: one call to a running OMS, its answer printed as JSON."""
    import json

    from oms.config import load_config

    config = load_config(args.config)
    proxy = connect(config.admin.host, config.admin.port)
    try:
        if args.action == "kill-switch":
            # TODO: `oms admin kill-switch` has no --reason option yet (its parser is in
            # oms/cli.py); until it has, only XML-RPC callers record a reason.
            reason = getattr(args, "reason", None) or ""
            result = proxy.kill_switch(args.state == "on", args.account or "", reason)
        elif args.action == "end-of-day":
            result = proxy.end_of_day()
        elif args.action == "open-orders":
            result = proxy.open_orders(args.account or "", args.symbol or "")
        elif args.action == "depth":
            result = proxy.depth(args.symbol, args.levels)
        elif args.action == "risk":
            result = proxy.risk_state()
        else:
            result = proxy.digest()
    except ConnectionRefusedError:
        print(f"no OMS answers at {config.admin.host}:{config.admin.port}: is it running?")
        return 1
    except xmlrpc.client.Fault as fault:
        print(fault.faultString)
        return 1
    print(json.dumps(result, indent=2))
    return 0
