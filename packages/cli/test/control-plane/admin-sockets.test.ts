import net from 'node:net';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startControlPlane, type RunningControlPlane } from '@plumbline/cli';

const ADMIN = 'admin-sockets-token-61c2';
let cp: RunningControlPlane;
let dir: string;
const sink = { write: () => true };

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'plb-cp-sockets-'));
  cp = await startControlPlane({
    adminToken: ADMIN,
    nodeTokens: {},
    store: join(dir, 'state.json'),
    logOutput: sink as never,
  });
});

afterAll(async () => {
  await cp?.close();
  await rm(dir, { recursive: true, force: true });
});

async function openIdle(port: number, count: number, localAddress: string): Promise<net.Socket[]> {
  const sockets: net.Socket[] = [];
  await Promise.all(
    Array.from({ length: count }, () => {
      const s = net.connect({ host: '127.0.0.1', port, localAddress });
      s.on('error', () => undefined);
      sockets.push(s);
      return once(s, 'connect');
    }),
  );
  return sockets;
}

/** Status of one GET, and the first chunk of its body. */
function get(path: string): Promise<{ status: number; first: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      `${cp.adminUrl}${path}`,
      { headers: { authorization: `Bearer ${ADMIN}` }, agent: false },
      (res) => {
        res.once('data', (chunk: Buffer) => {
          resolve({ status: res.statusCode ?? 0, first: chunk.toString('utf8') });
          res.destroy();
        });
      },
    );
    req.on('error', reject);
    req.end();
  });
}

describe('control plane admin listener under idle sockets', () => {
  it('answers the fleet API and the dashboard event stream while 2,000 idle sockets are open', async () => {
    const port = Number(new URL(cp.adminUrl).port);
    const sockets: net.Socket[] = [];
    try {
      for (let a = 2; a < 22; a++) sockets.push(...(await openIdle(port, 100, `127.0.2.${a}`)));
      expect((await get('/v1/fleet')).status).toBe(200);
      const events = await get('/v1/fleet/events');
      expect(events.status).toBe(200);
      expect(events.first).toContain('retry:');
    } finally {
      for (const s of sockets) s.destroy();
    }
  });

  it('closes a connection that never sends a byte', async () => {
    const port = Number(new URL(cp.adminUrl).port);
    const [socket] = await openIdle(port, 1, '127.0.0.1');
    await once(socket!, 'close');
    expect(socket!.bytesRead).toBe(0);
  });
});
