"""What can go wrong with the audit log.

AuditLogError
 └── SchemaError   a segment written by a version of the log this one cannot read
"""

from __future__ import annotations


class AuditLogError(Exception):
    """The audit log cannot record or read events; the engine must stop taking orders."""


class SchemaError(AuditLogError):
    """A segment whose schema version or columns this reader does not know."""
