// @anthropic-ai/sdk (npm), the Anthropic Node SDK. Generic cases: its SSE decoding
// (llm-sdk.mjs). client.llm.* Anthropic cases: client.messages.stream(...) with baseURL at the
// case, the user's code listening for 'text' and awaiting done(), as the README shows.
import { decodeEvents } from './llm-sdk.mjs';
import { pkg, serve, settle } from './protocol.mjs';

const { default: Anthropic } = await import(pkg);
const { _iterSSEMessages } = await import(`${pkg}/core/streaming`);

serve(({ url, sdk }, emit, end) => {
  if (!sdk) return decodeEvents(_iterSSEMessages, url, emit, end);
  const client = new Anthropic({ apiKey: 'test', baseURL: url });
  const stream = client.messages.stream({
    model: 'claude-test',
    max_tokens: 64,
    messages: [{ role: 'user', content: 'Hi' }],
  });
  stream.on('text', (text) => emit('delta', { text }));
  settle(stream.done(), emit, end);
  return () => stream.abort();
});
