// What every Node example app serves (the twin of harness/servers/apps/stream.py): GET /stream,
// 20 events with ids 1..20 and data "event N", 50 ms apart, resumable from Last-Event-ID; GET
// /idle, no event at all. Each app listens on a free loopback port and prints it.
export const EVENTS = 20;
export const INTERVAL_MS = 50;

export function eventIds(lastEventId) {
  const last = Number.parseInt(lastEventId ?? "0", 10);
  const first = Math.min(Math.max(Number.isNaN(last) ? 0 : last, 0), EVENTS) + 1;
  return Array.from({ length: EVENTS - first + 1 }, (_, i) => first + i);
}

export const data = (n) => `event ${n}`;
export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

export function announce(port) {
  console.log(`SSE-HARNESS-PORT ${port}`);
}
