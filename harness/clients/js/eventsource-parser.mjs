// eventsource-parser (npm) as the Vercel AI SDK feeds it: a fetch() body through
// TextDecoderStream into the parser. It is a parser, so the fetch is this runner's and the last
// event ID is the one its onId callback reports, carried forward as EventSource clients built on
// it do. Its callbacks are used directly (EventSourceParserStream wraps the same createParser),
// so each event is reported with the last event ID as it was at that event's dispatch.
import { pkg, serve, settle } from './protocol.mjs';

const { createParser } = await import(pkg);

serve(({ url }, emit, end) => {
  const controller = new AbortController();
  let lastEventId = '';
  const parser = createParser({
    onId: (id) => { lastEventId = id; },
    onEvent: (msg) => emit('event', {
      type: msg.event || 'message',
      data: msg.data,
      last_event_id: lastEventId,
      raw: { event: msg.event ?? null, id: msg.id ?? null },
    }),
  });
  const read = async () => {
    const response = await fetch(url, { signal: controller.signal });
    for await (const text of response.body.pipeThrough(new TextDecoderStream())) {
      parser.feed(text);
    }
  };
  settle(read(), emit, end);
  return () => controller.abort();
});
