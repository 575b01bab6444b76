/**
 * The alert receiver of the fleet bench, in its own process: a loopback HTTP server that takes
 * the webhook POSTs of every control-plane replica (or of the bare baseline servers) and notes
 * each `drift.detected`'s arrival time (monoMs, comparable with the client processes' send
 * times), and optionally a subscriber of each replica's fleet event stream (`GET
 * /v1/fleet/events`, server-sent events) noting when each replica's stream showed a node
 * `drifted`. Commands and answers over IPC.
 */
import { createServer, request, type IncomingMessage } from 'node:http';
import { monoMs } from './protocol.js';

export type ReceiverCommand =
  | { cmd: 'reset' }
  | { cmd: 'report' }
  | { cmd: 'watch'; streams: string[]; token: string }
  | { cmd: 'stop' };

export interface ReceiverReport {
  /** Every `drift.detected` POSTed since the reset: node id, event id, arrival (monoMs). */
  drifts: [string, string, number][];
  /** POSTs of any type since the reset. */
  posts: number;
  /** Per watched stream: `[node id, monoMs]` of each node's first `drifted` since the reset. */
  streams: [string, number][][];
}

const send = (m: unknown): void => void process.send?.(m);
let drifts: [string, string, number][] = [];
let posts = 0;
let streams: Map<string, number>[] = [];
const open: IncomingMessage[] = [];

const server = createServer({ keepAlive: true }, (req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => {
    const at = monoMs();
    posts++;
    try {
      const event = JSON.parse(Buffer.concat(chunks).toString('utf8')) as {
        type?: string;
        id?: string;
        node_id?: string;
      };
      if (event.type === 'drift.detected') drifts.push([event.node_id ?? '', event.id ?? '', at]);
    } catch {
      // Not JSON: counted as a POST only.
    }
    res.writeHead(204).end();
  });
});
server.listen(0, '127.0.0.1', () => {
  const { port } = server.address() as { port: number };
  send({ event: 'listening', url: `http://127.0.0.1:${port}/hook` });
});

/** Follows one replica's event stream; records each node's first `drifted` state. */
function watch(url: string, token: string, into: () => Map<string, number>): void {
  const req = request(url, { headers: { authorization: `Bearer ${token}` } }, (res) => {
    open.push(res);
    res.setEncoding('utf8');
    let buffer = '';
    res.on('data', (chunk: string) => {
      const at = monoMs();
      buffer += chunk;
      let end: number;
      while ((end = buffer.indexOf('\n\n')) >= 0) {
        const frame = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        const data = /^data: (.*)$/m.exec(frame)?.[1];
        if (data === undefined || !data.includes('"drift"')) continue;
        const event = JSON.parse(data) as { type?: string; node_id?: string; state?: string };
        const seen = into();
        if (
          event.type === 'node.state_changed' &&
          event.state === 'drift' &&
          event.node_id !== undefined &&
          !seen.has(event.node_id)
        ) {
          seen.set(event.node_id, at);
        }
      }
    });
  });
  req.on('error', (error) => send({ event: 'error', message: `stream ${url}: ${error.message}` }));
  req.end();
}

process.on('message', (m: ReceiverCommand) => {
  if (m.cmd === 'reset') {
    drifts = [];
    posts = 0;
    streams = streams.map(() => new Map());
    send({ event: 'reset' });
  } else if (m.cmd === 'watch') {
    m.streams.forEach((url, k) => {
      streams[k] = new Map();
      watch(url, m.token, () => streams[k]!);
    });
    send({ event: 'watching' });
  } else if (m.cmd === 'report') {
    const report: ReceiverReport = {
      drifts,
      posts,
      streams: streams.map((s) => [...s.entries()]),
    };
    send({ event: 'report', report });
  } else if (m.cmd === 'stop') {
    for (const res of open) res.destroy();
    server.closeAllConnections();
    server.close(() => process.exit(0));
  }
});
