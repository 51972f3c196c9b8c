"""FIX gateways on quickfix 1.16 (PyPI).

Shared by every FIX gateway (client acceptor, venue adapter, simulated venue):
- `session`: data dictionary lookup, SessionSettings from code (`build_settings`,
  `SessionSpec`), message stores, `GuardedApplication` (no exception ever escapes a
  callback), `stop_quietly`, and the quickfix behaviours they work around.
- `fields`: a message's fields read through quickfix (`MessageFields`, a tag -> value
  view), and text read into a quickfix Message against its data dictionary.
- `wire`: masked secrets, UTCTimestamps, decimals, `build_message`.
- `messagelog`: a message log with passwords masked (quickfix's FileLog is never used).
- `outbox`: a sending thread per session, so a peer that stops reading stalls only itself.
- `initiator`: `FixInitiator`, one blocking-API initiator session (the trader client and the
  test clients are built on it).

The client side:
- `settings`: the client acceptor's settings from `OmsConfig`.
- `codec`: client requests (D, F, G, H) to commands, or a `Refusal`.
- `reports`: events to ExecutionReport and OrderCancelReject, FIX 4.4 and 4.2 forms.
- `acceptor`: `ClientAcceptor`, the acceptor wired to a `Runtime`.
- `client`: `oms order`, the trader's command-line client.
"""
