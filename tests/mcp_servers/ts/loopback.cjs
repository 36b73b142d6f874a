// Preloaded (node --require) by tests/test_mcp_real_servers.py into the MCP TypeScript SDK's
// unmodified example server, which listens on every interface (app.listen(MCP_PORT)): every
// listen() without a host binds 127.0.0.1 instead, and the first server to listen prints
// "SSE-HARNESS-PORT <port>", the line harness.servers.launch.start() waits for (MCP_PORT=0
// lets the system pick a free port, so there is no race for one).
"use strict";
const net = require("node:net");

const listen = net.Server.prototype.listen;
let announced = false;

net.Server.prototype.listen = function (...args) {
  const [first, second] = args;
  if (typeof first === "number" || (typeof first === "string" && /^\d+$/.test(first))) {
    if (typeof second !== "string") args.splice(1, 0, "127.0.0.1");
  } else if (first && typeof first === "object" && first.port !== undefined && !first.host) {
    args[0] = { ...first, host: "127.0.0.1" };
  }
  this.once("listening", () => {
    if (announced) return;
    announced = true;
    console.log(`SSE-HARNESS-PORT ${this.address().port}`);
  });
  return listen.apply(this, args);
};
