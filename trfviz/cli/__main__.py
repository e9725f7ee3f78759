"""``python -m trfviz.cli``: the ``trfviz`` command."""

import sys

from trfviz.cli.app import main

sys.exit(main())
