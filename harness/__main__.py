"""``python -m harness`` is ``sse-harness``."""

from harness.cli import main

raise SystemExit(main())
