// The JSON-lines loop shared by the Node runners; harness/clients/protocol.py documents the
// protocol. A runner is started as `node SCRIPT PACKAGE`: PACKAGE is the npm package it drives,
// whose version (and Node's) the hello reports. Each runner calls serve() with a
// start(command, emit, end) function that starts its client and returns a function that stops
// it, and optionally { detail }, added to the version (the SSE decoder inside an SDK).
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';

export const pkg = process.argv[2];
const now = () => (performance.timeOrigin + performance.now()) / 1000;
const write = (record) => process.stdout.write(`${JSON.stringify({ t: now(), ...record })}\n`);
export const describe = (err) => ({
  type: err?.name ?? typeof err,
  message: String(err?.message ?? err).slice(0, 2000),
});

function packageVersion(name) {
  const url = new URL(`./node_modules/${name}/package.json`, import.meta.url);
  return JSON.parse(readFileSync(url, 'utf8')).version;
}

// A message event, as opposed to an EventSource's own error event: the stream may name an event
// "error", and a listener for that type (or onerror) then sees both.
export const isMessage = (e) => typeof e?.lastEventId === 'string';

// Report the events an EventSource-style API delivers for each listened-for type.
export function listen(source, types, emit) {
  for (const type of types) {
    source.addEventListener(type, (e) => {
      if (!isMessage(e)) return;
      emit('event', {
        type: e.type || 'message',
        data: e.data,
        last_event_id: e.lastEventId,
        raw: { type: e.type, lastEventId: e.lastEventId },
      });
    });
  }
}

// End the run when a client's promise settles: returned, or raised (reported with its error).
export function settle(promise, emit, end) {
  promise.then(
    () => end('returned'),
    (err) => {
      emit('exception', describe(err));
      end('raised');
    },
  );
}

export function serve(start, { detail } = {}) {
  let current = null;
  const finish = (state, how) => {
    if (!state.ended) {
      state.ended = true;
      write({ kind: 'end', run: state.run, how });
    }
  };
  // An error the client throws where no caller can catch it is still an observation.
  const uncaught = (err) => {
    if (current && !current.ended) {
      write({ kind: 'exception', run: current.run, ...describe(err) });
      try { current.stop?.(); } catch { /* already broken */ }
      finish(current, 'raised');
    }
  };
  process.on('uncaughtException', uncaught);
  process.on('unhandledRejection', uncaught);
  const extra = detail ? `; ${detail}` : '';
  const version = `${packageVersion(pkg)} (Node ${process.versions.node}${extra})`;
  write({ kind: 'hello', run: 0, client: pkg, version });
  const lines = createInterface({ input: process.stdin });
  lines.on('line', (line) => {
    const command = JSON.parse(line);
    if (command.op === 'run') {
      const state = { run: command.run, ended: false, stop: null };
      current = state;
      const emit = (kind, fields = {}) => {
        if (!state.ended) write({ kind, run: state.run, ...fields });
      };
      try {
        state.stop = start(command, emit, (how) => finish(state, how));
      } catch (err) {
        emit('exception', describe(err));
        finish(state, 'raised');
      }
    } else if (command.op === 'stop' && current?.run === command.run && !current.ended) {
      try { current.stop?.(); } catch { /* stopping is best effort; the end record is not */ }
      finish(current, 'stopped');
    }
  });
  lines.on('close', () => process.exit(0));
}
