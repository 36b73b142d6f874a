// fastify with fastify-sse-v2: reply.sse(asyncIterable), as its README shows; the plugin sends
// a retry field first and no keep-alive.
import Fastify from "fastify";
import { FastifySSEPlugin } from "fastify-sse-v2";
import { announce, data, eventIds, INTERVAL_MS, sleep } from "./stream.mjs";

const server = Fastify();
server.register(FastifySSEPlugin);

server.get("/stream", (req, reply) => {
  const ids = eventIds(req.headers["last-event-id"]);
  reply.sse(
    (async function* source() {
      for (const [i, n] of ids.entries()) {
        if (i) await sleep(INTERVAL_MS);
        yield { id: String(n), data: data(n) };
      }
    })(),
  );
});

server.get("/idle", (req, reply) => {
  reply.sse(
    (async function* nothing() {
      await new Promise((resolve) => req.raw.on("close", resolve)); // until the client leaves
    })(),
  );
});

const address = await server.listen({ port: 0, host: "127.0.0.1" });
announce(new URL(address).port);
