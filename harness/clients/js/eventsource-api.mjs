// The WHATWG EventSource API from the npm package named on the command line (eventsource,
// undici, extended-eventsource: each exports an EventSource class), with its defaults. The
// readyState constant is the standard's 2 (CLOSED), which not every class has as a static.
import { isMessage, listen, pkg, serve } from './protocol.mjs';

const { EventSource } = await import(pkg);
const CLOSED = 2;

serve(({ url, types }, emit, end) => {
  const source = new EventSource(url);
  source.onopen = () => emit('open');
  source.onerror = (error) => {
    if (isMessage(error)) return; // an event the stream named "error": reported by listen()
    const closed = source.readyState === CLOSED;
    emit('error', { message: error?.message ?? '', code: error?.code ?? null, closed });
    if (closed) end('closed');
  };
  listen(source, types, emit);
  return () => source.close();
});
