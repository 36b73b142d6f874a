// openai (npm), the OpenAI Node SDK. Generic cases: its SSE decoding (llm-sdk.mjs). client.llm.*
// OpenAI cases: client.chat.completions.create({ stream: true }) with baseURL at the case, the
// user's code taking each chunk's choices[0].delta.content, as the README shows.
import { decodeEvents } from './llm-sdk.mjs';
import { pkg, serve, settle } from './protocol.mjs';

const { default: OpenAI } = await import(pkg);
const { _iterSSEMessages } = await import(`${pkg}/core/streaming`);

serve(({ url, sdk }, emit, end) => {
  if (!sdk) return decodeEvents(_iterSSEMessages, url, emit, end);
  const controller = new AbortController();
  const client = new OpenAI({ apiKey: 'sk-test', baseURL: url });
  const chat = async () => {
    const stream = await client.chat.completions.create(
      { model: 'gpt-test', messages: [{ role: 'user', content: 'Hi' }], stream: true },
      { signal: controller.signal },
    );
    for await (const chunk of stream) {
      const text = chunk.choices?.[0]?.delta?.content;
      if (text) emit('delta', { text });
    }
  };
  settle(chat(), emit, end);
  return () => controller.abort();
});
