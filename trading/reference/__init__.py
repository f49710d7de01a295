"""Reference data the centre maintains: rule settings (every U/P figure of rules.md §9), the
working-day calendar loaded year by year, and regions (county seat and townships).
Imports trading.core and trading.audit."""
