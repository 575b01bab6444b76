/**
 * Simulated data-plane nodes for the fleet bench, in a separate process: each holds a share of
 * the WebSocket connections, sends a hello, then heartbeats at the announced interval with a
 * random phase. Commands arrive over IPC.
 */
import WebSocket from 'ws';
import { H1, H2, monoMs, tokenOf, type ClientCommand, type ClientEvent } from './protocol.js';

interface Node {
  id: number;
  ws: WebSocket;
  seq: number;
  hash: string;
  due: number;
  /** When the first heartbeat with the drifted hash was sent (monoMs). */
  driftSent?: number;
}

const nodes: Node[] = [];
const send = (m: ClientEvent): void => void process.send?.(m);
let ticker: NodeJS.Timeout | undefined;

function connectOne(url: string, i: number): Promise<Node | undefined> {
  return new Promise((resolve) => {
    const ws = new WebSocket(url, {
      headers: { authorization: `Bearer ${tokenOf(i)}` },
      perMessageDeflate: false,
      handshakeTimeout: 60_000,
    });
    const node: Node = { id: i, ws, seq: 0, hash: H1, due: 0 };
    ws.once('open', () => {
      ws.send(
        JSON.stringify({
          type: 'hello',
          protocol: 'plumbline.drift/v1',
          node_id: `node-${i}`,
          cluster: `c${i % 10}`,
          instance_id: `bench-${i}`,
          artifact_hash: H1,
          // The same load time its heartbeats report (a real node's hello and heartbeats agree).
          loaded_at: '2026-01-01T00:00:00Z',
          sdk: '@plumbline/core@bench',
        }),
      );
    });
    ws.once('message', () => resolve(node));
    ws.once('error', () => resolve(undefined));
    ws.once('close', () => resolve(undefined));
  });
}

function heartbeat(node: Node): void {
  if (node.ws.readyState !== WebSocket.OPEN) return;
  node.seq++;
  const frame = `{"type":"heartbeat","seq":${node.seq},"artifact_hash":"${node.hash}","loaded_at":"2026-01-01T00:00:00Z"}`;
  if (node.hash !== H1 && node.driftSent === undefined) node.driftSent = monoMs();
  node.ws.send(frame);
}

function startTicker(intervalMs: number): void {
  if (ticker) clearInterval(ticker);
  ticker = setInterval(() => {
    const t = performance.now();
    for (const n of nodes) {
      if (n.due <= t) {
        heartbeat(n);
        n.due = Math.max(n.due + intervalMs, t);
      }
    }
  }, 20);
}

process.on('message', async (m: ClientCommand) => {
  try {
    if (m.cmd === 'connect') {
      const t0 = performance.now();
      let next = m.first;
      const end = m.first + m.count;
      let ok = 0;
      let failed = 0;
      const lane = async (): Promise<void> => {
        while (next < end) {
          const i = next++;
          const node = await connectOne(m.urls ? m.urls[i % m.urls.length]! : m.url, i);
          if (node) {
            // A node heartbeats from its welcome on, at a random phase (as a real one does).
            node.due = performance.now() + Math.random() * m.intervalMs;
            nodes.push(node);
            ok++;
          } else failed++;
        }
      };
      startTicker(m.intervalMs);
      await Promise.all(Array.from({ length: m.concurrency }, lane));
      send({ event: 'connected', ok, failed, ms: performance.now() - t0 });
    } else if (m.cmd === 'drift') {
      // The next heartbeat of `count` random nodes reports another hash.
      for (let k = 0; k < m.count && nodes.length > 0; k++) {
        nodes[Math.floor(Math.random() * nodes.length)]!.hash = H2;
      }
    } else if (m.cmd === 'saturate') {
      if (ticker) clearInterval(ticker);
      const chosen = nodes.slice(0, m.nodes);
      const until = performance.now() + m.durationMs;
      let sent = 0;
      await new Promise<void>((resolve) => {
        const pump = (): void => {
          if (performance.now() >= until) return resolve();
          for (const n of chosen) {
            if (n.ws.bufferedAmount < 16 * 1024) {
              heartbeat(n);
              sent++;
            }
          }
          setImmediate(pump);
        };
        pump();
      });
      send({ event: 'saturated', sent });
    } else if (m.cmd === 'drifts') {
      const sends: [string, number][] = [];
      for (const n of nodes)
        if (n.driftSent !== undefined) sends.push([`node-${n.id}`, n.driftSent]);
      send({ event: 'drifts', sends });
    } else if (m.cmd === 'stop') {
      if (ticker) clearInterval(ticker);
      for (const n of nodes) n.ws.terminate();
      process.exit(0);
    }
  } catch (error) {
    send({ event: 'error', message: (error as Error).message });
  }
});
send({ event: 'ready' } as unknown as ClientEvent);
