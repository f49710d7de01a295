"""Named instants tests move the clock between (never sleep, never patch globals).

T0 is a Tuesday in 2026 well clear of holidays; the National Day block (2026-10-01..07, make-up
working days 2026-09-20 Sun and 2026-10-10 Sat) is used for the working-day edge cases."""

from trading.core.clock import beijing

T0 = beijing(2026, 11, 10, 9, 0)                 # a Tuesday morning: registration opens
PUBLISHED = beijing(2026, 11, 12, 10, 0)         # the announcement goes out
DEADLINE = beijing(2026, 12, 8, 9, 30)           # offers due
OPENING = DEADLINE                               # opened at the deadline
BEFORE_NATIONAL_DAY = beijing(2026, 9, 29, 10, 0)
