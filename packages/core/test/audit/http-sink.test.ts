import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gunzipSync } from 'node:zlib';
import { afterEach, describe, expect, it } from 'vitest';
import {
  MemoryAuditSink,
  createAuditLogger,
  createHttpBatchSink,
  sessionRejected,
  type AuditRecord,
} from '@plumbline/core/audit';

interface Received {
  headers: IncomingMessage['headers'];
  lines: string[];
}

let server: Server | undefined;
afterEach(async () => {
  await new Promise<void>((r) => (server ? server.close(() => r()) : r()));
  server = undefined;
});

/** A real HTTP server on loopback answering with the given statuses in turn (then 200). */
async function serve(
  statuses: (number | 'hang')[] = [],
  retryAfter?: string,
): Promise<{ url: string; received: Received[]; attempts: () => number }> {
  const received: Received[] = [];
  let attempts = 0;
  server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const status = statuses[attempts++] ?? 200;
      if (status === 'hang') return;
      if (status === 200) {
        const raw = Buffer.concat(chunks);
        const body = req.headers['content-encoding'] === 'gzip' ? gunzipSync(raw) : raw;
        received.push({ headers: req.headers, lines: body.toString().trimEnd().split('\n') });
      }
      if (retryAfter !== undefined) res.setHeader('retry-after', retryAfter);
      res.statusCode = status;
      res.end('ok');
    });
  });
  await new Promise<void>((r) => server!.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://user:pw@127.0.0.1:${port}/ingest?k=secretq`,
    received,
    attempts: () => attempts,
  };
}

async function records(n: number): Promise<AuditRecord[]> {
  const sink = new MemoryAuditSink();
  const logger = createAuditLogger({
    source: { component: 't' },
    sinks: [{ sink, delivery: 'must-write' }],
    rateLimit: false,
  });
  for (let i = 0; i < n; i++)
    await logger.emit(
      sessionRejected({
        actor: { type: 'anonymous', id: `p${i}` },
        details: { reason_code: 'timeout' },
      }),
    );
  return sink.records;
}

describe('HTTP batch sink', () => {
  it('posts gzip-compressed JSON lines in ordered batches with the given headers', async () => {
    const { url, received } = await serve();
    const sink = createHttpBatchSink({
      url,
      maxBatchEvents: 4,
      headers: async () => ({ authorization: 'Bearer t0k3n' }),
    });
    const rs = await records(10);
    await sink.write(rs.slice(0, 9));
    await sink.write(rs.slice(9));
    await sink.write([]);
    await sink.flush!();
    await sink.close!();
    expect(received.map((r) => r.lines.length)).toEqual([4, 4, 1, 1]);
    expect(received.flatMap((r) => r.lines)).toEqual(rs.map((r) => r.json));
    expect(received[0]!.headers).toMatchObject({
      'content-encoding': 'gzip',
      'content-type': 'application/x-ndjson',
      authorization: 'Bearer t0k3n',
      'x-plumbline-audit-events': '4',
    });
    await expect(sink.write(rs)).rejects.toMatchObject({ code: 'PLB_AUDIT_SINK_CLOSED' });
  });

  it('splits by bytes and can send uncompressed', async () => {
    const { url, received } = await serve();
    const rs = await records(6);
    const sink = createHttpBatchSink({
      url,
      gzip: false,
      maxBatchBytes: rs[0]!.json.length * 2 + 2,
      headers: { 'x-a': '1' },
    });
    await sink.write(rs);
    expect(received.map((r) => r.lines.length)).toEqual([2, 2, 2]);
    expect(received[0]!.headers.authorization).toBe(`Basic ${btoa('user:pw')}`);
    expect(received[0]!.headers['content-encoding']).toBeUndefined();
    expect(received[0]!.headers['x-a']).toBe('1');
  });

  it('cuts encoded lines from writeLines into requests by count and bytes, across chunk boundaries', async () => {
    const { url, received } = await serve();
    const rs = await records(7);
    const encode = (from: number, to: number): Uint8Array =>
      new TextEncoder().encode(
        rs
          .slice(from, to)
          .map((r) => `${r.json}\n`)
          .join(''),
      );
    const byCount = createHttpBatchSink({ url, maxBatchEvents: 3 });
    await byCount.writeLines!([encode(0, 2), encode(2, 7)], 7);
    expect(received.map((r) => r.lines.length)).toEqual([3, 3, 1]);
    expect(received.map((r) => r.headers['x-plumbline-audit-events'])).toEqual(['3', '3', '1']);
    expect(received.flatMap((r) => r.lines)).toEqual(rs.map((r) => r.json));
    received.length = 0;
    const byBytes = createHttpBatchSink({
      url,
      gzip: false,
      maxBatchBytes: rs[0]!.json.length * 2 + 2,
    });
    await byBytes.writeLines!([encode(0, 1), encode(1, 5), encode(5, 6)], 6);
    expect(received.map((r) => r.lines)).toEqual(
      [0, 2, 4].map((i) => [rs[i]!.json, rs[i + 1]!.json]),
    );
    await byCount.close!();
    await expect(byCount.writeLines!([encode(0, 1)], 1)).rejects.toMatchObject({
      code: 'PLB_AUDIT_SINK_CLOSED',
    });
    await byBytes.close!();
  });

  it('retries 503, 429 (with Retry-After) and timeouts, then delivers', async () => {
    const { url, received, attempts } = await serve([503, 429, 'hang'], '0');
    const sink = createHttpBatchSink({ url, backoffMs: 1, maxBackoffMs: 5, timeoutMs: 200 });
    await sink.write(await records(2));
    expect(attempts()).toBe(4);
    expect(received).toHaveLength(1);
  });

  it('fails at once on a 4xx and after the retries otherwise, without credentials in the error', async () => {
    const { url } = await serve([400]);
    const sink = createHttpBatchSink({ url, backoffMs: 1 });
    const error = (await sink.write(await records(1)).catch((e: unknown) => e as Error)) as Error;
    expect(error).toMatchObject({ code: 'PLB_AUDIT_HTTP_REJECTED' });
    expect(error.message).not.toMatch(/pw|secretq/);
    const failing = await serve([500, 500, 500]);
    const sink2 = createHttpBatchSink({ url: failing.url, retries: 2, backoffMs: 1 });
    const e2 = (await sink2.write(await records(1)).catch((e: unknown) => e as Error)) as Error;
    expect(e2).toMatchObject({ code: 'PLB_AUDIT_HTTP_FAILED' });
    expect(e2.message).toContain('HTTP 500');
    expect(e2.message).not.toMatch(/pw|secretq/);
    expect(failing.attempts()).toBe(3);
  });

  it('reports network errors and aborts', async () => {
    const sink = createHttpBatchSink({ url: 'http://127.0.0.1:1/x', retries: 1, backoffMs: 1 });
    await expect(sink.write(await records(1))).rejects.toMatchObject({
      code: 'PLB_AUDIT_HTTP_FAILED',
      message: expect.stringContaining('network error'),
    });
    const controller = new AbortController();
    controller.abort();
    await expect(sink.write(await records(1), { signal: controller.signal })).rejects.toMatchObject(
      { code: 'PLB_AUDIT_HTTP_FAILED' },
    );
  });

  it('works as a best-effort sink that reports what it dropped after an outage', async () => {
    const { url, received } = await serve([503, 503]);
    const sink = createHttpBatchSink({ url, retries: 0 });
    const logger = createAuditLogger({
      source: { component: 't' },
      sinks: [{ sink, delivery: 'best-effort', queue: { backoffMs: 1 } }],
      rateLimit: false,
    });
    await logger.emit(
      sessionRejected({
        actor: { type: 'anonymous', id: 'a' },
        details: { reason_code: 'timeout' },
      }),
    );
    await logger.flush();
    await logger.emit(
      sessionRejected({
        actor: { type: 'anonymous', id: 'b' },
        details: { reason_code: 'timeout' },
      }),
    );
    await logger.flush();
    await logger.emit(
      sessionRejected({
        actor: { type: 'anonymous', id: 'c' },
        details: { reason_code: 'timeout' },
      }),
    );
    await logger.flush();
    await logger.close();
    const lines = received
      .flatMap((r) => r.lines)
      .map((l) => JSON.parse(l) as { type: string; details: Record<string, unknown> });
    expect(lines.find((l) => l.type === 'audit.events_dropped')?.details).toMatchObject({
      write_failed_count: 2,
      dropped_count: 2,
    });
  });

  it('refuses bad configuration', () => {
    expect(() => createHttpBatchSink({ url: 'not a url' })).toThrow(/absolute URL/);
    expect(() => createHttpBatchSink({ url: 'ftp://x/' })).toThrow(/http/);
    expect(() => createHttpBatchSink({ url: 'http://x/', retries: -1 })).toThrow(/retries/);
  });
});
