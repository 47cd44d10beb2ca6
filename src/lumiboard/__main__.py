"""``python -m lumiboard``."""

import sys

from lumiboard.cli import main

sys.exit(main())
