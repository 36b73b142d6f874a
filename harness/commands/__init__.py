"""The command line layer: one module per ``sse-harness`` subcommand.

Each module offers ``HELP`` (one line), ``add_arguments(parser)`` and ``run(args) -> int``; its
docstring is the command's description. It turns the parsed arguments into the instrument's
typed options and calls the instrument's one entry point. Modules import only the standard
library at import time, so ``sse-harness --help`` stays fast.
"""
