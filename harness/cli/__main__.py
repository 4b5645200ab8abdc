"""``python -m harness.cli``: the ``harness`` command."""

import sys

from harness.cli.commands import main

sys.exit(main())
