// hono with its streaming helper streamSSE and writeSSE, on @hono/node-server; hono sends no
// keep-alive of its own.
import { serve } from "@hono/node-server";
import { Hono } from "hono";
import { streamSSE } from "hono/streaming";
import { announce, data, eventIds, INTERVAL_MS } from "./stream.mjs";

const app = new Hono();

app.get("/stream", (c) =>
  streamSSE(c, async (stream) => {
    for (const [i, n] of eventIds(c.req.header("Last-Event-ID")).entries()) {
      if (i) await stream.sleep(INTERVAL_MS);
      await stream.writeSSE({ data: data(n), id: String(n) });
    }
  }),
);

app.get("/idle", (c) =>
  streamSSE(c, async (stream) => {
    await new Promise((resolve) => stream.onAbort(resolve)); // until the client leaves
  }),
);

serve({ fetch: app.fetch, port: 0, hostname: "127.0.0.1" }, (info) => announce(info.port));
