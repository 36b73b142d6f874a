"""The example apps of the server matrix: one per library, each written the way that library's
own documentation shows, serving the same two routes (:mod:`.stream` says what they hold).

Each module offers ``app``, the object its server serves (:mod:`harness.servers.serve`). They
import their library at load, so a module is imported only when its library is installed (the
``servers`` extra).
"""
