"""``python -m reference_server --host 127.0.0.1 --port 8000``."""

import sys

from reference_server.cli import main

sys.exit(main())
