"""``python -m playment_submit.core.cli``: the command line without the window."""

import sys

from . import main

sys.exit(main())
