import net from 'node:net';
import { once } from 'node:events';
import { describe, expect, it } from 'vitest';
import { createAdminHandler, hashAdminToken } from '@plumbline/core/admin';
import { startAdminListener, type AdminListener } from '@plumbline/core/node';
import { LoadedArtifactRegistry, verifyOnLoad } from '@plumbline/core/verify';
import { makeCandidate } from '../verify/candidates.js';
import { request } from './admin-listener-client.js';

const TOKEN = 'dos-token-5e81c0b7a2';

async function startLoaded(
  options: Partial<Parameters<typeof startAdminListener>[0]> = {},
): Promise<AdminListener> {
  const registry = new LoadedArtifactRegistry();
  await verifyOnLoad(makeCandidate(), { mode: 'enforce' }, { registry });
  return await startAdminListener({
    handler: createAdminHandler({
      source: registry,
      auth: { tokens: [{ id: 'ops', sha256: hashAdminToken(TOKEN) }] },
      rateLimit: false,
    }),
    ...options,
  });
}

/** Opens `count` raw sockets from `localAddress`; each writes `prefix` (if any) then nothing more. */
async function openSockets(
  listener: AdminListener,
  count: number,
  localAddress: string,
  prefix = '',
): Promise<net.Socket[]> {
  const sockets: net.Socket[] = [];
  const opened: Promise<unknown>[] = [];
  for (let i = 0; i < count; i++) {
    const socket = net.connect({ host: '127.0.0.1', port: listener.port, localAddress });
    socket.on('error', () => undefined);
    sockets.push(socket);
    opened.push(
      once(socket, 'connect').then(() => {
        if (prefix !== '') socket.write(prefix);
      }),
    );
  }
  await Promise.all(opened);
  return sockets;
}

const authed = { headers: { authorization: `Bearer ${TOKEN}` } };

describe('admin listener under idle and slow sockets', () => {
  it('keeps answering authenticated requests while 2,000 idle and slow sockets are open', async () => {
    // Long timeouts: the sockets stay open for the whole test, so only the connection policy helps.
    const listener = await startLoaded({ idleTimeoutMs: 60_000, headersTimeoutMs: 60_000 });
    const sockets: net.Socket[] = [];
    try {
      // Many client addresses (all loopback), silent and slow (a request head never finished).
      for (let a = 2; a < 12; a++) {
        sockets.push(...(await openSockets(listener, 100, `127.0.0.${a}`)));
        sockets.push(
          ...(await openSockets(
            listener,
            100,
            `127.0.1.${a}`,
            'GET /_admin/provenance HTTP/1.1\r\n',
          )),
        );
      }
      expect(sockets.length).toBe(2000);
      for (let i = 0; i < 5; i++) {
        const reply = await request(listener.url, '/_admin/provenance', authed);
        expect(reply.status).toBe(200);
      }
    } finally {
      for (const socket of sockets) socket.destroy();
      await listener.close({ graceMs: 0 });
    }
  });

  it('closes a connection that sends nothing within idleTimeoutMs', async () => {
    const listener = await startLoaded({ idleTimeoutMs: 100 });
    try {
      const [socket] = await openSockets(listener, 1, '127.0.0.1');
      // Resolves only if the listener closes it: a hang fails the test on its timeout.
      await once(socket!, 'close');
      expect(socket!.bytesRead).toBe(0);
    } finally {
      await listener.close({ graceMs: 0 });
    }
  });

  it('closes a connection whose request head trickles in past headersTimeoutMs', async () => {
    const listener = await startLoaded({ headersTimeoutMs: 200, idleTimeoutMs: 5_000 });
    try {
      const [socket] = await openSockets(
        listener,
        1,
        '127.0.0.1',
        'GET /_admin/health HTTP/1.1\r\n',
      );
      const trickle = setInterval(() => socket!.write('x-slow: 1\r\n'), 20);
      const chunks: Buffer[] = [];
      socket!.on('data', (c: Buffer) => chunks.push(c));
      await once(socket!, 'close');
      clearInterval(trickle);
      expect(Buffer.concat(chunks).toString('latin1')).toMatch(/^HTTP\/1\.1 408 /);
    } finally {
      await listener.close({ graceMs: 0 });
    }
  });

  it('bounds connections per client address, evicting that address’s oldest silent one', async () => {
    const listener = await startLoaded({ maxConnectionsPerClient: 8, idleTimeoutMs: 60_000 });
    try {
      const sockets = await openSockets(listener, 40, '127.0.0.7');
      const closed = sockets.map((s) => (s.destroyed ? Promise.resolve() : once(s, 'close')));
      // The 32 oldest are evicted; the newest 8 stay.
      await Promise.all(closed.slice(0, 32));
      await new Promise((resolve) => setTimeout(resolve, 50));
      expect(sockets.slice(32).filter((s) => s.destroyed)).toHaveLength(0);
      const reply = await request(listener.url, '/_admin/provenance', authed);
      expect(reply.status).toBe(200);
      for (const socket of sockets) socket.destroy();
    } finally {
      await listener.close({ graceMs: 0 });
    }
  });

  it('rejects malformed connection options', async () => {
    await expect(startLoaded({ maxConnectionsPerClient: 0 })).rejects.toMatchObject({
      code: 'PLB_ADMIN_CONFIG_INVALID',
    });
    await expect(startLoaded({ idleTimeoutMs: -1 })).rejects.toMatchObject({
      code: 'PLB_ADMIN_CONFIG_INVALID',
    });
  });
});
