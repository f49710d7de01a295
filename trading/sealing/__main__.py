"""`python -m trading.sealing …` is the offline sealing tool (trading/sealing/tool.py)."""

import sys

from .tool import main

sys.exit(main())
