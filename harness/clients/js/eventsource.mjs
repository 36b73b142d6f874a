// eventsource (npm): the WHATWG EventSource API for Node, with its defaults.
import { EventSource } from 'eventsource';
import { serve } from './protocol.mjs';

serve('eventsource', 'eventsource', ({ url, types }, emit, end) => {
  const source = new EventSource(url);
  source.onopen = () => emit('open');
  source.onerror = (error) => {
    const closed = source.readyState === EventSource.CLOSED;
    emit('error', { message: error?.message ?? '', code: error?.code ?? null, closed });
    if (closed) end('closed');
  };
  for (const type of types) {
    source.addEventListener(type, (e) => emit('event', {
      type: e.type || 'message',
      data: e.data,
      last_event_id: e.lastEventId,
      raw: { type: e.type, lastEventId: e.lastEventId },
    }));
  }
  return () => source.close();
});
