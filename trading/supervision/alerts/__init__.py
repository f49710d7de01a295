"""Electronic supervision alerts (电子监察, rules.md §5; ux.md §1.6): raised at the triggering event,
each with a severity, its rule, the legal basis and links to the evidence, worked by supervisors
(acknowledge → investigate → close with a finding, each audited).

Design — why the rules do not run inside `audit.services.record`:
the audit append holds the head lock (PostgreSQL row lock / SQLite writer lock) from the first
statement until the request commits, so every microsecond spent inside it is spent by every
concurrent writer (bids in an auction, offers at a deadline). The append therefore only notes the
seq of a watched action (one set lookup, like its milestone mark); the rules run after the commit:

1. an after-commit session hook (evaluator._evaluate_after_commit) evaluates in a fresh session and
   transaction, still inside the request, so the alert exists and is announced (live event on
   `supervision:alerts`) before the triggering request has answered;
2. the evaluator consumes the audit trail by cursor (supervision_alert_cursor.next_seq: every entry
   below it has been evaluated), advanced in the transaction that stores the alerts — so a crash
   between the commit and the hook loses nothing: `flask alerts sweep` (cron) evaluates from the
   cursor to the head;
3. raising is idempotent: an alert is unique per rule + subject (a database constraint), so the hook
   and the sweep, or two sweeps, never raise one twice, and re-evaluating facts raises nothing.

Evaluators serialise on the cursor row, not the audit head, and hold the head only for their own
`alert.raised` appends. Facts come from the domain tables (participations, submissions, deposits,
opening results, the evaluation report, awards) and the audit entries (client IPs); the rules
(rules.py) are pure functions over those plain facts.

Secrecy: an alert whose evidence reveals a lot's bidders (same IP, same contact, same deposit
account, identical sealed files) is stored at the event but hidden from every reader until the
lot's deadline (rules.md §2.4: nobody, supervisors included, learns who bids before it); the sweep
announces it on the dashboard once the deadline has passed.

Imports: everything below supervision (core, audit, accounts, projects, procedures, evaluation)."""
