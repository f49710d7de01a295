"""Sealed offers: envelope and opening key (pure crypto). Imports only trading.core."""
