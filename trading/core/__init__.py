"""Core: clock, database base types, money, errors, service context, web glue. Imports nothing of the domain."""
