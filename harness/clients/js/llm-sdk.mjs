// What the two Node LLM SDK runners share: their decoder's view of the generic cases. An SDK
// reads its streams with its own SSE decoding (_iterSSEMessages in PACKAGE/core/streaming, what
// Stream.fromSSEResponse reads); the generic cases reach it the way the SDK does, on the body of
// a fetch() response. It keeps no last event ID.
import { settle } from './protocol.mjs';

export function decodeEvents(iterSSEMessages, url, emit, end) {
  const controller = new AbortController();
  const decode = async () => {
    const response = await fetch(url, { signal: controller.signal });
    for await (const sse of iterSSEMessages(response, controller)) {
      emit('event', {
        type: sse.event || 'message',
        data: sse.data,
        last_event_id: '',
        raw: { event: sse.event },
      });
    }
  };
  settle(decode(), emit, end);
  return () => controller.abort();
}
