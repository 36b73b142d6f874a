// eventsource-client (npm) with its defaults. onConnect is its open; onDisconnect fires when a
// body ends or a 204 closes it. A message carries its own block's id; the client's lastEventId
// is the last event ID string, read at dispatch.
import { pkg, serve } from './protocol.mjs';

const { createEventSource } = await import(pkg);

serve(({ url }, emit, end) => {
  const source = createEventSource({
    url,
    onMessage: (msg) => emit('event', {
      type: msg.event || 'message',
      data: msg.data,
      last_event_id: source.lastEventId ?? '',
      raw: { event: msg.event ?? null, id: msg.id ?? null },
    }),
    onConnect: () => emit('open'),
    onDisconnect: () => {
      emit('error', { message: 'disconnected', closed: null });
      setTimeout(() => { if (source.readyState === 'closed') end('closed'); }, 0);
    },
  });
  return () => source.close();
});
