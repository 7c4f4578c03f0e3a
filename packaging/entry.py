"""Entry point of the frozen app: the same console script as ``pip install`` gives."""

import sys

from core.cli import main

if __name__ == "__main__":
    sys.exit(main())
