import { afterEach, describe, expect, it } from 'vitest';
import { createServer, request as httpRequest } from 'node:http';
import { connect as netConnect } from 'node:net';
import WebSocket from 'ws';
import type { DriftSession, DriftTransportHandler } from '@plumbline/core/drift';
import {
  createTokenAuthenticator,
  createWsChannel,
  createWsTransport,
  hashToken,
  type WsTransport,
} from '@plumbline/ws';

const tokens = {
  'gw-1': { cluster: 'prod', token_sha256: hashToken('tok-1') },
  'gw-2': { cluster: 'prod', token_sha256: hashToken('tok-2') },
};

interface Recorded {
  opened: DriftSession[];
  messages: Array<[string, string]>;
  closes: Array<[string, number]>;
  authFailures: string[];
}

function recorder(onMessage?: (s: DriftSession, t: string) => void): {
  handler: DriftTransportHandler;
  rec: Recorded;
  waitClose: (n: number) => Promise<void>;
} {
  const rec: Recorded = { opened: [], messages: [], closes: [], authFailures: [] };
  let waiters: Array<() => void> = [];
  const handler: DriftTransportHandler = {
    onOpen: (s) => rec.opened.push(s),
    onMessage: (s, t) => {
      rec.messages.push([s.identity.node_id, t]);
      onMessage?.(s, t);
    },
    onClose: (s, code) => {
      rec.closes.push([s.identity.node_id, code]);
      for (const w of waiters) w();
    },
    onAuthFailure: (f) => rec.authFailures.push(f.reason),
  };
  const waitClose = (n: number): Promise<void> =>
    new Promise((resolve) => {
      const check = (): void => {
        if (rec.closes.length >= n) {
          waiters = waiters.filter((w) => w !== check);
          resolve();
        }
      };
      waiters.push(check);
      check();
    });
  return { handler, rec, waitClose };
}

function open(url: string, token?: string): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, token ? { headers: { authorization: `Bearer ${token}` } } : {});
    ws.once('open', () => resolve(ws));
    ws.once('unexpected-response', (_req, res) =>
      reject(Object.assign(new Error('http'), { status: res.statusCode })),
    );
    ws.once('error', reject);
  });
}

function closed(ws: WebSocket): Promise<{ code: number; messages: string[] }> {
  const messages: string[] = [];
  ws.on('message', (d) => messages.push(d.toString()));
  return new Promise((resolve) => ws.once('close', (code) => resolve({ code, messages })));
}

let transport: WsTransport | undefined;
afterEach(async () => {
  await transport?.close();
  transport = undefined;
});

describe('WebSocket transport', () => {
  it('refuses a limit that is not a positive number, naming it', () => {
    const auth = createTokenAuthenticator({ nodes: tokens });
    for (const [key, value] of [
      ['messageBurst', 0],
      ['messagesPerSecond', -1],
      ['maxFrameBytes', Number.NaN],
    ] as const) {
      expect(() => createWsTransport({ auth, limits: { [key]: value } })).toThrow(
        expect.objectContaining({
          code: 'PLB_WS_LIMIT_INVALID',
          message: `limits.${key} must be a positive number`,
        }),
      );
    }
  });

  it('authenticates before the upgrade and binds the session to the identity', async () => {
    const { handler, rec } = recorder();
    transport = createWsTransport({ auth: createTokenAuthenticator({ nodes: tokens }) });
    await transport.start(handler);
    expect(transport.url).toMatch(/^ws:\/\/127\.0\.0\.1:\d+\/ws\/data-plane$/);
    await expect(open(transport.url)).rejects.toMatchObject({ status: 401 });
    await expect(open(transport.url, 'wrong')).rejects.toMatchObject({ status: 401 });
    expect(rec.opened).toHaveLength(0);
    expect(rec.authFailures).toEqual(['missing credentials', 'invalid credentials']);
    const ws = await open(transport.url, 'tok-2');
    ws.send('{"type":"x"}');
    await new Promise((r) => setTimeout(r, 50));
    expect(rec.opened[0]?.identity).toEqual({
      node_id: 'gw-2',
      cluster: 'prod',
      principal: 'node:gw-2',
    });
    expect(rec.messages).toEqual([['gw-2', '{"type":"x"}']]);
    expect(transport.stats().upgradesRejected.unauthenticated).toBe(2);
    ws.close();
  });

  it('closes oversized frames with 1009, binary frames with 4400 and floods with 4429, and keeps serving', async () => {
    const { handler, rec, waitClose } = recorder();
    transport = createWsTransport({
      auth: createTokenAuthenticator({ nodes: tokens }),
      limits: { maxFrameBytes: 1024, messagesPerSecond: 5, messageBurst: 5 },
    });
    await transport.start(handler);
    const big = await open(transport.url, 'tok-1');
    const bigClosed = closed(big);
    big.send('x'.repeat(2000));
    expect((await bigClosed).code).toBe(1009);

    const bin = await open(transport.url, 'tok-1');
    const binClosed = closed(bin);
    bin.send(Buffer.from([1, 2, 3]));
    const b = await binClosed;
    expect(b.code).toBe(4400);
    expect(JSON.parse(b.messages[0]!)).toMatchObject({
      type: 'error',
      code: 'PLB_DRIFT_MALFORMED',
    });

    const flood = await open(transport.url, 'tok-1');
    const floodClosed = closed(flood);
    for (let i = 0; i < 50; i++) flood.send('{"type":"heartbeat"}');
    const f = await floodClosed;
    expect(f.code).toBe(4429);
    expect(JSON.parse(f.messages[0]!)).toMatchObject({
      type: 'error',
      code: 'PLB_WS_RATE_LIMITED',
    });
    await waitClose(3);
    expect(rec.closes.map(([, c]) => c)).toEqual([1009, 4400, 4429]);
    const stats = transport.stats();
    expect(stats.violations).toMatchObject({ frame_too_big: 1, binary_frame: 1, rate_limited: 1 });
    expect(stats.closes).toMatchObject({ '1009': 1, '4400': 1, '4429': 1 });
    // still healthy
    const ok = await open(transport.url, 'tok-1');
    ok.send('{"type":"hello"}');
    await new Promise((r) => setTimeout(r, 50));
    expect(rec.messages.at(-1)).toEqual(['gw-1', '{"type":"hello"}']);
    ok.close();
  });

  it('closes a session that sends nothing with 4408', async () => {
    const { handler } = recorder();
    transport = createWsTransport({
      auth: createTokenAuthenticator({ nodes: tokens }),
      limits: { helloTimeoutMs: 100 },
    });
    await transport.start(handler);
    const ws = await open(transport.url, 'tok-1');
    const c = await closed(ws);
    expect(c.code).toBe(4408);
    expect(JSON.parse(c.messages[0]!)).toMatchObject({
      type: 'error',
      code: 'PLB_WS_HELLO_TIMEOUT',
    });
    expect(transport.stats().violations.hello_timeout).toBe(1);
  });

  it('destroys slow-loris handshakes and refuses beyond max connections with 503', async () => {
    const { handler } = recorder();
    transport = createWsTransport({
      auth: createTokenAuthenticator({ nodes: tokens }),
      limits: { handshakeTimeoutMs: 200, maxConnections: 1 },
    });
    await transport.start(handler);
    const { port } = transport.address();
    const slow = netConnect(port, '127.0.0.1');
    // The server destroys this connection: a reset or a write after it is expected here.
    slow.on('error', () => {});
    slow.write('GET /ws/data-plane HTTP/1.1\r\nHost: x\r\n');
    const drip = setInterval(() => {
      if (!slow.destroyed) slow.write('X-A: b\r\n');
    }, 50);
    await new Promise<void>((resolve) => slow.once('close', () => resolve()));
    clearInterval(drip);
    expect(transport.stats().violations.handshake_timeout).toBe(1);

    const first = await open(transport.url, 'tok-1');
    await expect(open(transport.url, 'tok-2')).rejects.toMatchObject({ status: 503 });
    expect(transport.stats().upgradesRejected.capacity).toBe(1);
    first.close();
  });

  it('answers 404 on another path and 426 to plain HTTP', async () => {
    const { handler } = recorder();
    transport = createWsTransport({ auth: createTokenAuthenticator({ nodes: tokens }) });
    await transport.start(handler);
    const url = transport.url.replace('/ws/data-plane', '/other');
    await expect(open(url, 'tok-1')).rejects.toMatchObject({ status: 404 });
    const status = await new Promise<number>((resolve) => {
      httpRequest(transport!.url.replace('ws:', 'http:'), (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      }).end();
    });
    expect(status).toBe(426);
  });

  it('attaches to an existing HTTP server without touching its routes', async () => {
    const server = createServer((_req, res) => res.end('hello'));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    const { handler, rec } = recorder();
    transport = createWsTransport({ server, auth: createTokenAuthenticator({ nodes: tokens }) });
    await transport.start(handler);
    const { port } = transport.address();
    const body = await (await fetch(`http://127.0.0.1:${port}/x`)).text();
    expect(body).toBe('hello');
    const ws = await open(`ws://127.0.0.1:${port}/ws/data-plane`, 'tok-1');
    ws.send('{"type":"a"}');
    await new Promise((r) => setTimeout(r, 50));
    expect(rec.messages).toHaveLength(1);
    await transport.close();
    transport = undefined;
    // the server is the caller's; still listening
    expect(await (await fetch(`http://127.0.0.1:${port}/x`)).text()).toBe('hello');
    await new Promise((r) => server.close(r));
  });

  it('closes sessions of revoked tokens with 4401 and everything with 1001 on close', async () => {
    const auth = createTokenAuthenticator({ nodes: tokens });
    const { handler, rec, waitClose } = recorder();
    transport = createWsTransport({ auth });
    await transport.start(handler);
    const a = await open(transport.url, 'tok-1');
    const b = await open(transport.url, 'tok-2');
    const aClosed = closed(a);
    const bClosed = closed(b);
    auth.update({ 'gw-2': tokens['gw-2'] });
    expect((await aClosed).code).toBe(4401);
    await waitClose(1);
    await transport.close();
    transport = undefined;
    expect((await bClosed).code).toBe(1001);
    expect(rec.closes).toEqual([
      ['gw-1', 4401],
      ['gw-2', 1001],
    ]);
  });

  it('terminates peers that stop answering pings', async () => {
    const { handler, rec, waitClose } = recorder();
    transport = createWsTransport({
      auth: createTokenAuthenticator({ nodes: tokens }),
      limits: { pingIntervalMs: 50 },
    });
    await transport.start(handler);
    const ws = await open(transport.url, 'tok-1');
    ws.send('{}');
    // stop answering pings: ws answers automatically, so pause the socket entirely
    (ws as unknown as { _socket: { pause(): void } })._socket.pause();
    await waitClose(1);
    expect(rec.closes[0]).toEqual(['gw-1', 1006]);
    expect(transport.stats().violations.liveness_timeout).toBe(1);
    ws.terminate();
  });
});

describe('WebSocket channel', () => {
  it('connects, exchanges frames and reports the close code', async () => {
    const { handler } = recorder((s, t) => s.send(`echo:${t}`));
    transport = createWsTransport({ auth: createTokenAuthenticator({ nodes: tokens }) });
    await transport.start(handler);
    const channel = createWsChannel({ url: transport.url, credentials: { token: 'tok-1' } });
    const got: string[] = [];
    let closeCode = 0;
    const done = new Promise<void>((resolve) => {
      void channel
        .connect({
          onMessage: (t) => got.push(t),
          onClose: (code) => {
            closeCode = code;
            resolve();
          },
        })
        .then((conn) => {
          conn.send('one');
          conn.send('two');
          setTimeout(() => void transport!.close(), 100);
        });
    });
    await done;
    transport = undefined;
    expect(got).toEqual(['echo:one', 'echo:two']);
    expect(closeCode).toBe(1001);
  });

  it('rejects with PLB_DRIFT_UNAUTHENTICATED on 401 and PLB_DRIFT_CONNECT when nothing listens', async () => {
    const { handler } = recorder();
    transport = createWsTransport({ auth: createTokenAuthenticator({ nodes: tokens }) });
    await transport.start(handler);
    const noop = { onMessage: () => {}, onClose: () => {} };
    await expect(
      createWsChannel({ url: transport.url, credentials: { token: 'bad' } }).connect(noop),
    ).rejects.toMatchObject({ code: 'PLB_DRIFT_UNAUTHENTICATED' });
    const { port } = transport.address();
    await transport.close();
    transport = undefined;
    await expect(
      createWsChannel({
        url: `ws://127.0.0.1:${port}/ws/data-plane`,
        credentials: { token: 'tok-1' },
      }).connect(noop),
    ).rejects.toMatchObject({ code: 'PLB_DRIFT_CONNECT' });
  });

  it('refuses URLs that are not ws(s) or carry credentials', () => {
    expect(() => createWsChannel({ url: 'http://x/y', credentials: { token: 't' } })).toThrow(
      expect.objectContaining({ code: 'PLB_WS_URL_INVALID' }),
    );
    expect(() => createWsChannel({ url: 'ws://u:p@x/y', credentials: { token: 't' } })).toThrow(
      expect.objectContaining({ code: 'PLB_WS_URL_INVALID' }),
    );
    expect(() => createWsChannel({ url: 'not a url', credentials: { token: 't' } })).toThrow(
      expect.objectContaining({ code: 'PLB_WS_URL_INVALID' }),
    );
  });

  it('refuses channel limits that are not positive numbers, naming them', () => {
    for (const [key, value] of [
      ['handshakeTimeoutMs', Number.NaN],
      ['maxFrameBytes', 0],
      ['maxTokenBytes', -1],
    ] as const) {
      expect(() =>
        createWsChannel({ url: 'ws://127.0.0.1:1/x', credentials: { token: 't' }, [key]: value }),
      ).toThrow(
        expect.objectContaining({
          code: 'PLB_WS_LIMIT_INVALID',
          message: `${key} must be a positive number`,
        }),
      );
    }
  });
});
