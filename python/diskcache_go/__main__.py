"""``python -m diskcache_go``: the command line (see `diskcache_go.cli`)."""

import sys

from .cli import main

if __name__ == '__main__':
    sys.exit(main())
