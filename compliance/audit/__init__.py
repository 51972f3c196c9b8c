"""The audit log: every event in hash-chained Arrow IPC segments, the journal recovered from.

`schema` maps events to Arrow record batches and back; `segments` names the files and
defines the hash chain; `writer` group-commits events on its own thread; `reader` replays,
recovers torn tails and verifies the chain.
"""

from compliance.audit.errors import AuditLogError, SchemaError
from compliance.audit.reader import (
    ChainBreak,
    RecoveryResult,
    SetAside,
    VerifyResult,
    read_events,
    recover,
    verify,
)
from compliance.audit.schema import SCHEMA, SCHEMA_VERSION, batch_from_events, events_from_batch
from compliance.audit.writer import AuditLog

__all__ = [
    "SCHEMA",
    "SCHEMA_VERSION",
    "AuditLog",
    "AuditLogError",
    "ChainBreak",
    "RecoveryResult",
    "SchemaError",
    "SetAside",
    "VerifyResult",
    "batch_from_events",
    "events_from_batch",
    "read_events",
    "recover",
    "verify",
]
