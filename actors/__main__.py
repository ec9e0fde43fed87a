"""``python -m actors`` is the ``regiment`` command."""

import sys

from actors.cli import main

sys.exit(main())
