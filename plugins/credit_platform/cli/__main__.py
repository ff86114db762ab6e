"""``python -m credit_platform.cli``: the same as the ``credit-platform`` command."""

import sys

from credit_platform.cli import main

sys.exit(main())
