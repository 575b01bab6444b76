import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { PlumblineError } from '@plumbline/core';
import {
  WEBHOOK_HEADERS,
  WebhookSink,
  signWebhook,
  verifyWebhookSignature,
  type FleetEvent,
} from '@plumbline/core/drift';
import { A, B } from './helpers.js';

const SECRET = 'whsec-test-0123456789';

interface Received {
  readonly headers: IncomingMessage['headers'];
  readonly body: string;
}

type Behaviour = (req: IncomingMessage, res: ServerResponse, n: number) => void;

let servers: Server[] = [];
afterEach(async () => {
  await Promise.all(
    servers.map((s) => {
      s.closeAllConnections();
      return new Promise<void>((resolve) => s.close(() => resolve()));
    }),
  );
  servers = [];
});

async function receiver(behaviour: Behaviour): Promise<{ url: string; received: Received[] }> {
  const received: Received[] = [];
  let n = 0;
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      received.push({ headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
      behaviour(req, res, n++);
    });
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}/hook`, received };
}

function event(id: string, type: FleetEvent['type'] = 'drift.detected'): FleetEvent {
  return {
    type: 'drift.detected',
    id,
    at: '2026-01-01T00:00:00.000Z',
    node_id: 'gw-1',
    cluster: 'prod',
    state: 'drift',
    from: 'in_sync',
    reported_hash: B,
    desired_hash: A,
    instance_id: 'i-1',
    provenance: null,
    workers: null,
    ...(type === 'drift.detected' ? {} : { type }),
  } as FleetEvent;
}

const fast = { initialBackoffMs: 2, maxBackoffMs: 10, timeoutMs: 5000, closeTimeoutMs: 5000 };

describe('WebhookSink against a real HTTP server on loopback', () => {
  it('delivers signed JSON with documented headers that verify', async () => {
    const { url, received } = await receiver((_req, res) => res.writeHead(204).end());
    const sink = new WebhookSink({ url, secret: SECRET, ...fast, headers: { 'x-route': 'ops' } });
    sink.send(event('e-1'));
    await sink.flush();
    expect(received).toHaveLength(1);
    const [r] = received as [Received];
    expect(JSON.parse(r.body)).toEqual(event('e-1'));
    expect(r.headers['content-type']).toBe('application/json');
    expect(r.headers['x-route']).toBe('ops');
    expect(r.headers[WEBHOOK_HEADERS.eventId]).toBe('e-1');
    expect(r.headers[WEBHOOK_HEADERS.eventType]).toBe('drift.detected');
    expect(r.headers[WEBHOOK_HEADERS.attempt]).toBe('1');
    const header = r.headers[WEBHOOK_HEADERS.signature] as string;
    expect(header).toMatch(/^t=\d+,v1=[0-9a-f]{64}$/);
    await expect(
      verifyWebhookSignature({ secret: SECRET, body: r.body, header }),
    ).resolves.toHaveProperty('timestamp');
    await expect(
      verifyWebhookSignature({ secret: 'other', body: r.body, header }),
    ).rejects.toMatchObject({
      code: 'PLB_WEBHOOK_SIGNATURE_MISMATCH',
    });
    expect(JSON.stringify(r.headers)).not.toContain(SECRET);
    expect(sink.stats()).toMatchObject({
      accepted: 1,
      delivered: 1,
      dropped: 0,
      failures: 0,
      queued: 0,
    });
    await sink.close();
  });

  it('retries 5xx and 429 with the same event id, in order, until the server recovers', async () => {
    const { url, received } = await receiver((_req, res, n) => {
      if (n === 0) res.writeHead(503).end();
      else if (n === 1) res.writeHead(429, { 'retry-after': '0' }).end();
      else if (n === 2) res.destroy();
      else res.writeHead(200).end('ok');
    });
    const sink = new WebhookSink({ url, secret: SECRET, ...fast });
    sink.send(event('e-1'));
    sink.send(event('e-2'));
    await sink.flush();
    const ids = received.map((r) => r.headers[WEBHOOK_HEADERS.eventId]);
    expect(ids).toEqual(['e-1', 'e-1', 'e-1', 'e-1', 'e-2']);
    expect(received.map((r) => r.headers[WEBHOOK_HEADERS.attempt])).toEqual([
      '1',
      '2',
      '3',
      '4',
      '1',
    ]);
    expect(new Set(received.slice(0, 4).map((r) => r.body)).size).toBe(1);
    expect(sink.stats()).toMatchObject({ delivered: 2, failures: 3, dropped: 0 });
    await sink.close();
  });

  it('times out a stalled request and retries it', async () => {
    const { url, received } = await receiver((_req, res, n) => {
      if (n === 0) return; // stall: never answer
      res.writeHead(200).end();
    });
    const sink = new WebhookSink({ url, secret: SECRET, ...fast, timeoutMs: 300 });
    sink.send(event('e-1'));
    await sink.flush();
    // The first request stalls and times out; a retry (on a loaded machine, maybe more) delivers.
    expect(received.length).toBeGreaterThanOrEqual(2);
    expect(sink.stats()).toMatchObject({ delivered: 1, failures: received.length - 1 });
    await sink.close();
  });

  it('drops an event on a permanent 4xx and after maxAttempts, counting both', async () => {
    const { url, received } = await receiver((req, res) => {
      const id = req.headers[WEBHOOK_HEADERS.eventId];
      res.writeHead(id === 'bad' ? 400 : 500).end();
    });
    const logged: unknown[] = [];
    const sink = new WebhookSink({
      url,
      secret: SECRET,
      ...fast,
      maxAttempts: 3,
      logger: { warn: (message, details) => logged.push({ message, details }) },
    });
    sink.send(event('bad'));
    sink.send(event('flaky'));
    await sink.flush();
    expect(received.map((r) => r.headers[WEBHOOK_HEADERS.eventId])).toEqual([
      'bad',
      'flaky',
      'flaky',
      'flaky',
    ]);
    expect(sink.stats()).toMatchObject({ delivered: 0, dropped: 2, failures: 4 });
    expect(JSON.stringify(logged)).not.toContain(SECRET);
    expect(logged.length).toBe(4);
    await sink.close();
  });

  it('bounds its queue, dropping the oldest, while the server is down', async () => {
    let up = false;
    const { url, received } = await receiver((_req, res) => res.writeHead(up ? 200 : 503).end());
    const sink = new WebhookSink({ url, secret: SECRET, ...fast, queueSize: 3, maxAttempts: 1000 });
    for (let i = 0; i < 10; i++) sink.send(event(`e-${i}`));
    expect(sink.stats()).toMatchObject({ accepted: 10, dropped: 7, queued: 3 });
    up = true;
    await sink.flush();
    const delivered = received
      .filter((_r, i) => i >= received.length - 3)
      .map((r) => r.headers[WEBHOOK_HEADERS.eventId]);
    expect(delivered).toEqual(['e-7', 'e-8', 'e-9']);
    expect(sink.stats()).toMatchObject({ delivered: 3, dropped: 7, queued: 0 });
    await sink.close();
  });

  it('close() drains within its timeout, then drops the rest and refuses new events', async () => {
    const { url } = await receiver((_req, res) => res.writeHead(503).end());
    const sink = new WebhookSink({
      url,
      secret: SECRET,
      ...fast,
      maxAttempts: 1000,
      closeTimeoutMs: 30,
    });
    sink.send(event('e-1'));
    sink.send(event('e-2'));
    await sink.close();
    expect(sink.stats()).toMatchObject({ delivered: 0, dropped: 2, queued: 0 });
    sink.send(event('e-3'));
    expect(sink.stats().dropped).toBe(3);
    await sink.close();
  });

  it('filters by type and refuses invalid options', async () => {
    const { url, received } = await receiver((_req, res) => res.writeHead(200).end());
    const sink = new WebhookSink({ url, secret: SECRET, ...fast, types: ['node.stale'] });
    sink.send(event('e-1'));
    sink.send(event('e-2', 'node.stale'));
    await sink.flush();
    expect(received.map((r) => r.headers[WEBHOOK_HEADERS.eventType])).toEqual(['node.stale']);
    await sink.close();
    expect(() => new WebhookSink({ url: 'ftp://x', secret: SECRET })).toThrow(PlumblineError);
    expect(() => new WebhookSink({ url: 'not a url', secret: SECRET })).toThrow(/valid URL/);
    expect(() => new WebhookSink({ url, secret: '' })).toThrow(/secret/);
    expect(() => new WebhookSink({ url, secret: SECRET, queueSize: 0 })).toThrow(/queueSize/);
    expect(() => new WebhookSink({ url, secret: SECRET, timeoutMs: -1 })).toThrow(/timeoutMs/);
  });
});

describe('verifyWebhookSignature', () => {
  const body = '{"type":"drift.detected","id":"e-1"}';
  const now = Date.parse('2026-01-01T00:00:00Z');
  const t = now / 1000;

  it('accepts a fresh signature, any of several secrets, and several v1 values', async () => {
    const header = await signWebhook({ secret: SECRET, body, timestamp: t });
    await expect(verifyWebhookSignature({ secret: SECRET, body, header, now })).resolves.toEqual({
      timestamp: t,
    });
    await expect(
      verifyWebhookSignature({
        secret: ['old', new TextEncoder().encode(SECRET)],
        body: new TextEncoder().encode(body),
        header,
        now,
      }),
    ).resolves.toEqual({ timestamp: t });
    const other = await signWebhook({ secret: 'old', body, timestamp: t });
    const both = `${header},v1=${other.split('v1=')[1]}`;
    await expect(
      verifyWebhookSignature({ secret: 'old', body, header: both, now }),
    ).resolves.toEqual({ timestamp: t });
  });

  it('rejects replays outside the tolerance, tampered bodies and malformed headers', async () => {
    const header = await signWebhook({ secret: SECRET, body, timestamp: t });
    await expect(
      verifyWebhookSignature({ secret: SECRET, body, header, now: now + 301_000 }),
    ).rejects.toMatchObject({
      code: 'PLB_WEBHOOK_TIMESTAMP',
    });
    await expect(
      verifyWebhookSignature({
        secret: SECRET,
        body,
        header,
        now: now + 301_000,
        toleranceSeconds: 600,
      }),
    ).resolves.toBeDefined();
    await expect(
      verifyWebhookSignature({ secret: SECRET, body: `${body} `, header, now }),
    ).rejects.toMatchObject({
      code: 'PLB_WEBHOOK_SIGNATURE_MISMATCH',
    });
    for (const bad of [
      undefined,
      null,
      '',
      'v1=abc',
      `t=${t}`,
      `t=x,v1=${'0'.repeat(64)}`,
      'garbage',
      'x'.repeat(5000),
    ]) {
      await expect(
        verifyWebhookSignature({ secret: SECRET, body, header: bad, now }),
      ).rejects.toMatchObject({
        code: 'PLB_WEBHOOK_SIGNATURE_MALFORMED',
      });
    }
  });

  it('round-trips for any body and refuses any single-character change (property)', async () => {
    await fc.assert(
      fc.asyncProperty(fc.string({ maxLength: 200 }), fc.nat({ max: 199 }), async (text, index) => {
        const header = await signWebhook({ secret: SECRET, body: text, timestamp: t });
        await verifyWebhookSignature({ secret: SECRET, body: text, header, now });
        if (text.length === 0) return;
        const i = index % text.length;
        const changed = text.slice(0, i) + (text[i] === 'a' ? 'b' : 'a') + text.slice(i + 1);
        await expect(
          verifyWebhookSignature({ secret: SECRET, body: changed, header, now }),
        ).rejects.toMatchObject({
          code: 'PLB_WEBHOOK_SIGNATURE_MISMATCH',
        });
      }),
      { numRuns: 50 },
    );
  });
});
