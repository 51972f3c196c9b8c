"""FIX gateways built on quickfix: the client acceptor, the trader client, and the pieces
every FIX gateway shares (`session`: settings, dictionaries, guarded callbacks; `wire`:
message text)."""
