"""``python -m ngn_clarity.cli``: the ``clarity`` command."""

import sys

from . import main

sys.exit(main())
