"""Entry point of the single-file executable (scripts/build-binary): the `vertex-bridge` command."""

import sys

from addon.cli import main

if __name__ == "__main__":
    sys.exit(main())
