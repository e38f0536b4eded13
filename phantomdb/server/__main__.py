"""``python -m phantomdb.server [flags]``: the same as ``phantomdb serve [flags]``."""

import sys

from phantomdb.server.cli import main

if __name__ == "__main__":
    sys.exit(main(serve_only=True))
