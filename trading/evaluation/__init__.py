"""Evaluation (评审): the expert pool (experts/), the verifiable random draw with avoidance (draw/),
the panels drawn for a lot (panels.py), and — by SCORING — criteria, scoring sheets and reports.

Layer: above procedures.registry; imports core, audit, reference, accounts, projects and
procedures.* only (tests/architecture/test_layers.py)."""
