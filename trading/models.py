"""Imports every model module so the metadata is complete (for migrations and create_all)."""

from trading.accounts import models as accounts  # noqa: F401
from trading.audit import models as audit  # noqa: F401
from trading.procedures.common import models as notices  # noqa: F401
from trading.projects import models as projects  # noqa: F401
from trading.reference import models as reference  # noqa: F401
