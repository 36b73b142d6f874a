// An MCP server on the official TypeScript SDK (@modelcontextprotocol/sdk 1.x), built the way
// the SDK's own example dist/esm/examples/server/simpleStreamableHttp.js is (express through
// createMcpExpressApp, one StreamableHTTPServerTransport per session, each with the SDK's
// example InMemoryEventStore), plus a retryInterval of 100 ms and the two tools the MCP
// conformance suite names, which the example lacks:
//   test_tool_with_progress  progress 0, 50, 100 of 100 (50 ms apart) on the request's stream
//   test_reconnection        closes its own stream mid-call (extra.closeSSEStream, SEP-1699)
// It listens on 127.0.0.1, port 0, and prints "SSE-HARNESS-PORT <port>" (what
// harness.servers.launch.start() reads); MCP is at /mcp.
import { randomUUID } from "node:crypto";
import { InMemoryEventStore } from "@modelcontextprotocol/sdk/examples/shared/inMemoryEventStore.js";
import { createMcpExpressApp } from "@modelcontextprotocol/sdk/server/express.js";
import { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import { StreamableHTTPServerTransport } from "@modelcontextprotocol/sdk/server/streamableHttp.js";
import { isInitializeRequest } from "@modelcontextprotocol/sdk/types.js";

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

function getServer() {
  const server = new McpServer({ name: "sse-harness-ts-sdk", version: "1.0.0" });
  server.registerTool(
    "test_tool_with_progress",
    { description: "Reports progress 0, 50 and 100 of 100, 50 ms apart, then answers" },
    async (extra) => {
      const progressToken = extra._meta?.progressToken;
      for (const progress of [0, 50, 100]) {
        if (progressToken !== undefined) {
          await extra.sendNotification({
            method: "notifications/progress",
            params: { progressToken, progress, total: 100, message: `Completed step ${progress} of 100` },
          });
        }
        if (progress < 100) await sleep(50);
      }
      return { content: [{ type: "text", text: "progress done" }] };
    },
  );
  server.registerTool(
    "test_reconnection",
    { description: "Closes its own stream mid-call, then answers on the resumed stream" },
    async (extra) => {
      extra.closeSSEStream?.();
      await sleep(200);
      return { content: [{ type: "text", text: "Reconnection test completed" }] };
    },
  );
  return server;
}

const app = createMcpExpressApp();
const transports = new Map();

app.post("/mcp", async (req, res) => {
  const sessionId = req.headers["mcp-session-id"];
  if (sessionId && transports.has(sessionId)) {
    await transports.get(sessionId).handleRequest(req, res, req.body);
    return;
  }
  if (sessionId) {
    res.status(404).json({ jsonrpc: "2.0", error: { code: -32001, message: "Session not found" }, id: null });
    return;
  }
  if (!isInitializeRequest(req.body)) {
    res.status(400).json({
      jsonrpc: "2.0",
      error: { code: -32000, message: "Bad Request: No valid session ID provided" },
      id: null,
    });
    return;
  }
  const transport = new StreamableHTTPServerTransport({
    sessionIdGenerator: () => randomUUID(),
    eventStore: new InMemoryEventStore(),
    retryInterval: 100,
    onsessioninitialized: (id) => transports.set(id, transport),
  });
  transport.onclose = () => transports.delete(transport.sessionId);
  await getServer().connect(transport);
  await transport.handleRequest(req, res, req.body);
});

const bySession = async (req, res) => {
  const transport = transports.get(req.headers["mcp-session-id"]);
  if (!transport) {
    res.status(req.headers["mcp-session-id"] ? 404 : 400).send("Unknown or missing session ID");
    return;
  }
  await transport.handleRequest(req, res);
};
app.get("/mcp", bySession);
app.delete("/mcp", bySession);

const server = app.listen(0, "127.0.0.1", () => {
  console.log(`SSE-HARNESS-PORT ${server.address().port}`);
});
