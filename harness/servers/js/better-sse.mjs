// better-sse on Node's http module, as its README shows for Express-style handlers:
// createSession(req, res) and session.push(data, event, id); it pings every 10 s by default.
import http from "node:http";
import { createSession } from "better-sse";
import { announce, data, eventIds, INTERVAL_MS, sleep } from "./stream.mjs";

const server = http.createServer(async (req, res) => {
  const path = new URL(req.url, "http://127.0.0.1").pathname;
  if (path === "/stream") {
    const session = await createSession(req, res);
    const ids = eventIds(req.headers["last-event-id"]);
    for (const [i, n] of ids.entries()) {
      if (i) await sleep(INTERVAL_MS);
      if (!session.isConnected) return;
      session.push(data(n), "message", String(n));
    }
    res.end();
  } else if (path === "/idle") {
    await createSession(req, res);
  } else {
    res.writeHead(404).end();
  }
});
server.listen(0, "127.0.0.1", () => announce(server.address().port));
