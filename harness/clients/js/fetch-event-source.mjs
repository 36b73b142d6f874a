// @microsoft/fetch-event-source with its defaults (no onopen, onclose or onerror override, so
// its own content-type check and retry policy apply). It reaches for window and document, so in
// Node it needs the stand-ins its users add (Azure/fetch-event-source#39), set before import.
// A message carries only its own block's id ('' when the block had none), so the last event ID
// is carried forward here as an application must; a reset by an empty id cannot be seen.
globalThis.window ??= globalThis;
globalThis.document ??= { hidden: false, addEventListener() {}, removeEventListener() {} };
const { pkg, serve, settle } = await import('./protocol.mjs');
const { fetchEventSource } = await import(pkg);

serve(({ url }, emit, end) => {
  const controller = new AbortController();
  let lastEventId = '';
  const done = fetchEventSource(url, {
    signal: controller.signal,
    openWhenHidden: true,
    onmessage: (msg) => {
      if (msg.id !== '') lastEventId = msg.id;
      emit('event', {
        type: msg.event || 'message',
        data: msg.data,
        last_event_id: lastEventId,
        raw: { event: msg.event, id: msg.id, retry: msg.retry ?? null },
      });
    },
    onerror: (err) => {
      // Returning nothing keeps the library's default: retry after its interval.
      emit('error', { message: String(err?.message ?? err), closed: false });
    },
  });
  settle(done, emit, end);
  return () => controller.abort();
});
