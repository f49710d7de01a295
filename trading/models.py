"""Imports every model module so the metadata is complete (for migrations and create_all)."""

from trading.accounts import models as accounts  # noqa: F401
from trading.audit import models as audit  # noqa: F401
from trading.core import events as live_events  # noqa: F401
from trading.evaluation import panels  # noqa: F401
from trading.evaluation.criteria import models as evaluation_criteria  # noqa: F401
from trading.evaluation.draw import models as expert_draws  # noqa: F401
from trading.evaluation.experts import models as experts  # noqa: F401
from trading.evaluation.reports import models as evaluation_reports  # noqa: F401
from trading.evaluation.scoring import models as evaluation_scoring  # noqa: F401
from trading.procedures import registry as procedure_machines  # noqa: F401  (every stage machine registered)
from trading.procedures.auction import models as auctions  # noqa: F401
from trading.procedures.common import models as notices  # noqa: F401
from trading.procedures.common.awards import models as awards  # noqa: F401
from trading.procedures.common.deposits import models as deposits  # noqa: F401
from trading.procedures.common.opening import models as opening  # noqa: F401
from trading.procedures.common.participation import models as participation  # noqa: F401
from trading.procedures.land_tender import models as land_tender  # noqa: F401
from trading.procedures.negotiation import models as negotiation  # noqa: F401
from trading.projects import models as projects  # noqa: F401
from trading.reference import models as reference  # noqa: F401
from trading.supervision.access import models as supervision_access  # noqa: F401
from trading.supervision.alerts import models as supervision_alerts  # noqa: F401
from trading.supervision.complaints import models as complaints  # noqa: F401
