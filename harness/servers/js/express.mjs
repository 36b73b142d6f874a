// Plain express: the headers set by hand, res.write per event, as MDN's and countless tutorials'
// Node examples do; nothing keeps an idle stream alive.
import express from "express";
import { announce, data, eventIds, INTERVAL_MS, sleep } from "./stream.mjs";

const app = express();
const HEADERS = {
  "Content-Type": "text/event-stream",
  "Cache-Control": "no-cache",
  Connection: "keep-alive",
};

app.get("/stream", async (req, res) => {
  res.set(HEADERS).flushHeaders();
  for (const [i, n] of eventIds(req.get("Last-Event-ID")).entries()) {
    if (i) await sleep(INTERVAL_MS);
    if (res.writableEnded || req.destroyed) return;
    res.write(`id: ${n}\ndata: ${data(n)}\n\n`);
  }
  res.end();
});

app.get("/idle", (req, res) => {
  res.set(HEADERS).flushHeaders();
});

const server = app.listen(0, "127.0.0.1", () => announce(server.address().port));
