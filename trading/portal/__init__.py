"""Public portal (门户): read-only queries and pages, no log-in."""
