"""Time-limit lights (限时办结): every step with a service or statutory deadline, coloured green /
yellow / red (done on time / done late once finished), on one overdue list for the centre and the
supervisors.

- rules.py      pure: the light values and function (trading.core.lights), thresholds, ordering
- registry.py   step providers: register_provider(name, fn); fn(session, now, scope) → rows
- providers.py  the steps already modelled (entry review, candidate publicity, buyer decision,
                objection/质疑 replies, result announcement, contract signing, deposit refunds)
- queries.py    the list for a reader (centre, supervisor; an owner/agency: its own projects)
- views.py      the pages (the supervisor's under /supervise, the centre's under /time-limits)

The monthly statistics report registers its own provider from trading.stats (a layer above this one);
other packages (complaints) register theirs the same way."""
