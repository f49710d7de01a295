"""Append-only, hash-chained audit trail (design/audit.md stage 1). Imports only trading.core."""
