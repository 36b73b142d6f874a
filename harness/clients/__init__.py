"""Client conformance: the fuzzing server serves tricky streams, every client is graded on them.

The third instrument (DESIGN.md): a catalog of client cases (:mod:`.catalog`: exact bytes,
chunk boundaries, delays, statuses and headers, each with the observation a conforming
EventSource makes), a fuzzing server that serves them byte for byte (:mod:`.server`), one
runner per client library or browser (:mod:`.adapters`, ``js/``), one grader (:mod:`.grader`)
and one matrix of clients by cases (:func:`harness.clients.matrix.run_matrix`, :mod:`.report`).
``sse-harness clients`` runs it (:mod:`.cli`). Nothing is imported here, so the command's help
stays fast.
"""
