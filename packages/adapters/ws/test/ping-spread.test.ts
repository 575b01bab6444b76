import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import type { DriftTransportHandler } from '@plumbline/core/drift';
import {
  createTokenAuthenticator,
  createWsTransport,
  hashToken,
  type WsTransport,
} from '@plumbline/ws';

const tokens = { 'gw-1': { cluster: 'prod', token_sha256: hashToken('tok-1') } };
const handler: DriftTransportHandler = { onOpen: () => {}, onMessage: () => {}, onClose: () => {} };

function open(url: string): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { headers: { authorization: 'Bearer tok-1' } });
    ws.once('open', () => resolve(ws));
    ws.once('error', reject);
  });
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

let transport: WsTransport | undefined;
const sockets: WebSocket[] = [];
afterEach(async () => {
  for (const ws of sockets.splice(0)) ws.terminate();
  await transport?.close();
  transport = undefined;
});

describe('WebSocket transport liveness pings', () => {
  it('pings each connection once per interval, spread over the interval rather than all at once', async () => {
    transport = createWsTransport({
      auth: createTokenAuthenticator({ nodes: tokens }),
      limits: { pingIntervalMs: 1000 },
    });
    await transport.start(handler);
    const pings: number[][] = [];
    for (let k = 0; k < 40; k++) {
      const ws = await open(transport.url);
      sockets.push(ws);
      const got: number[] = [];
      pings.push(got);
      ws.on('ping', () => got.push(performance.now()));
    }
    while (pings.some((p) => p.length === 0)) await sleep(50);
    const first = pings.map((p) => p[0]!);
    // One callback pinging all 40 would ping them within a few milliseconds of each other.
    expect(Math.max(...first) - Math.min(...first)).toBeGreaterThanOrEqual(400);
    await sleep(1000);
    // Once per interval: at most the first ping, the next round's and one more while we waited.
    expect(Math.max(...pings.map((p) => p.length))).toBeLessThanOrEqual(3);
    expect(sockets.every((ws) => ws.readyState === WebSocket.OPEN)).toBe(true);
    expect(transport.stats().violations.liveness_timeout).toBe(0);
  });
});
