"""Compliance: the pre-trade risk checks and the audit log."""
