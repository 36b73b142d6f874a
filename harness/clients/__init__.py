"""Client conformance: the fuzzing server serves tricky streams, every client is graded on them.

The third instrument (DESIGN.md): a catalog of client cases (:mod:`.catalog`, with the LLM token
streams of :mod:`.llm_cases`: exact bytes, chunk boundaries, delays, statuses and headers, each
with the observation a conforming EventSource makes, and what an LLM SDK's user must get), a
fuzzing server that serves them byte for byte (:mod:`.server`), one runner per client library or
browser (:mod:`.adapters`, ``js/``, started by :mod:`.launchers`), one grader (:mod:`.grader`)
and one matrix of clients by cases (:func:`harness.clients.matrix.run_matrix`), reported as
JSON, a page and Markdown (:mod:`.report`, :mod:`.breaks`, :mod:`.markdown`). ``sse-harness
clients`` runs it (:mod:`.cli`). Nothing is imported here, so the command's help stays fast.
"""
