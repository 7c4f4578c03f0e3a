"""Entry point of the frozen app: the same console script as ``pip install`` gives."""

import sys

from playment_submit.gui.launch import main

if __name__ == "__main__":
    sys.exit(main())
