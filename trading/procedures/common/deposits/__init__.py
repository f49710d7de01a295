"""Deposits (保证金): per-bidder, per-lot virtual sub-accounts, the ledger, bank-statement import and
refund due dates."""
