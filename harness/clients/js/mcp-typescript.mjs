// @modelcontextprotocol/sdk (npm), the official MCP TypeScript SDK. client.mcp.* cases: a
// Client on a StreamableHTTPClientTransport, as its README shows: connect() (initialize,
// initialized), listTools(), then callTool({ name, arguments: {} }, undefined, { onprogress });
// the user's code reports each progress notification and the text of the result, and a
// rejection is an observation like any other. Errors the SDK hands client.onerror (not the
// caller) are reported as error records, for evidence.
// Generic cases: the decoder the SDK reads every stream with, as its transport's
// _handleSseStream uses it: a fetch() body through TextDecoderStream into the
// EventSourceParserStream of the eventsource-parser the SDK resolves (its own 3.x, nested under
// it; the eventsource-parser column is the top-level 4.x), the last event ID kept as the SDK
// keeps it (a non-empty id replaces it). The hello names that parser's version.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, pkg, serve, settle } from './protocol.mjs';

const TOOL = 'fuzz';
const { Client } = await import(`${pkg}/client/index.js`);
const { StreamableHTTPClientTransport } = await import(`${pkg}/client/streamableHttp.js`);

const sdk = createRequire(new URL(`./node_modules/${pkg}/package.json`, import.meta.url));
const parserManifest = sdk.resolve('eventsource-parser/package.json');
const parser = JSON.parse(readFileSync(parserManifest, 'utf8'));
const streamModule = join(dirname(parserManifest), parser.exports['./stream'].import);
const { EventSourceParserStream } = await import(pathToFileURL(streamModule).href);

function decode(url, emit, end) {
  const controller = new AbortController();
  const read = async () => {
    const response = await fetch(url, { signal: controller.signal });
    const events = response.body
      .pipeThrough(new TextDecoderStream())
      .pipeThrough(new EventSourceParserStream())
      .getReader();
    let lastEventId = '';
    for (;;) {
      const { value: event, done } = await events.read();
      if (done) break;
      if (event.id) lastEventId = event.id;
      emit('event', {
        type: event.event || 'message',
        data: event.data,
        last_event_id: lastEventId,
        raw: { event: event.event ?? null, id: event.id ?? null },
      });
    }
  };
  settle(read(), emit, end);
  return () => controller.abort();
}

function callTool(url, emit, end) {
  const client = new Client({ name: 'sse-harness', version: '1.0.0' });
  client.onerror = (err) => emit('error', { message: describe(err).message, closed: null });
  const transport = new StreamableHTTPClientTransport(new URL(url));
  const call = async () => {
    await client.connect(transport);
    await client.listTools();
    const result = await client.callTool({ name: TOOL, arguments: {} }, undefined, {
      onprogress: ({ progress, total, message }) =>
        emit('progress', { progress, total: total ?? null, message: message ?? null }),
    });
    const text = (result.content ?? []).map((block) => block.text ?? '').join('');
    emit('result', { text, is_error: Boolean(result.isError) });
    await client.close();
  };
  settle(call(), emit, end);
  return () => { client.close().catch(() => {}); };
}

serve(
  ({ url, sdk: mcp }, emit, end) => (mcp ? callTool(url, emit, end) : decode(url, emit, end)),
  { detail: `SSE: eventsource-parser ${parser.version}` },
);
