import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import {
  MemoryAuditSink,
  createAuditLogger,
  createJsonLinesSink,
  sessionRejected,
  provenanceRead,
  type AuditSink,
  type AuditRecord,
} from '@plumbline/core/audit';

const reject = (id: string) =>
  sessionRejected({
    actor: { type: 'anonymous', id },
    details: { reason_code: 'unauthenticated' },
  });

describe('deny-storm limiting', () => {
  it('suppresses a storm per (type, actor, outcome) and summarises it with suppressed_count', async () => {
    let now = Date.parse('2026-01-01T00:00:00.000Z');
    const sink = new MemoryAuditSink();
    const logger = createAuditLogger({
      source: { component: 't' },
      sinks: [{ sink, delivery: 'must-write' }],
      rateLimit: { burst: 5, perSecond: 1 },
      now: () => now,
    });
    const results = [];
    for (let i = 0; i < 105; i++) results.push(await logger.emit(reject('attacker')));
    expect(results.filter((r) => !r.suppressed)).toHaveLength(5);
    expect(results.filter((r) => r.suppressed)).toHaveLength(100);
    // Another actor and successes are not affected.
    expect((await logger.emit(reject('someone-else'))).suppressed).toBe(false);
    const ok = provenanceRead({
      actor: { type: 'user', id: 'attacker' },
      details: { artifact_hash: null, path: '/', status: 200 },
    });
    for (let i = 0; i < 20; i++) expect((await logger.emit(ok)).suppressed).toBe(false);
    // A second later the key gets a token: the summary is written before the admitted event.
    now += 1000;
    await logger.emit(reject('attacker'));
    const types = sink.events.map((e) => e.type);
    const summaryAt = types.indexOf('audit.events_suppressed');
    expect(summaryAt).toBeGreaterThan(0);
    expect(types[summaryAt + 1]).toBe('session.rejected');
    expect(sink.events[summaryAt]!.details).toMatchObject({
      suppressed_type: 'session.rejected',
      suppressed_outcome: 'deny',
      suppressed_actor: 'attacker',
      suppressed_count: 100,
      window_start: '2026-01-01T00:00:00.000Z',
      window_end: '2026-01-01T00:00:00.000Z',
    });
    expect(logger.metrics().suppressed).toBe(100);
    // Pending suppressions are summarised on flush, so nothing is dropped silently.
    for (let i = 0; i < 10; i++) await logger.emit(reject('attacker'));
    await logger.flush();
    const summaries = sink.events.filter((e) => e.type === 'audit.events_suppressed');
    expect(summaries).toHaveLength(2);
    expect(summaries[1]!.details['suppressed_count']).toBe(10);
    await logger.close();
  });

  it('bounds the number of keys by folding new actors into a shared bucket', async () => {
    const sink = new MemoryAuditSink();
    const logger = createAuditLogger({
      source: { component: 't' },
      sinks: [{ sink, delivery: 'must-write' }],
      rateLimit: { burst: 1, perSecond: 0.001, maxKeys: 3 },
      now: () => 0,
    });
    for (let i = 0; i < 50; i++) await logger.emit(reject(`peer-${i}`));
    await logger.close();
    // Three actors got their own bucket, one shared '*' bucket admitted one more.
    expect(sink.events.filter((e) => e.type === 'session.rejected')).toHaveLength(4);
    const summary = sink.events.find((e) => e.type === 'audit.events_suppressed')!;
    expect(summary.details).toMatchObject({ suppressed_actor: '*', suppressed_count: 46 });
  });

  it('writes summaries on its interval timer and validates its options', async () => {
    const sink = new MemoryAuditSink();
    const logger = createAuditLogger({
      source: { component: 't' },
      sinks: [{ sink, delivery: 'must-write' }],
      rateLimit: { burst: 1, perSecond: 0.001, summaryIntervalMs: 20 },
    });
    await logger.emit(reject('a'));
    await logger.emit(reject('a'));
    await new Promise((r) => setTimeout(r, 80));
    expect(sink.events.some((e) => e.type === 'audit.events_suppressed')).toBe(true);
    await logger.close();
    expect(() =>
      createAuditLogger({
        source: { component: 't' },
        sinks: [{ sink, delivery: 'must-write' }],
        rateLimit: { burst: 0 },
      }),
    ).toThrow(/burst/);
  });
});

describe('best-effort delivery', () => {
  it('drops and counts when the queue is full, and reports the drops once the sink catches up', async () => {
    let release: () => void = () => {};
    const written: AuditRecord[] = [];
    let calls = 0;
    const slow: AuditSink = {
      name: 'slow',
      write(records) {
        calls++;
        written.push(...records);
        if (calls === 1) return new Promise<void>((r) => (release = r));
        return Promise.resolve();
      },
    };
    const logger = createAuditLogger({
      source: { component: 't' },
      sinks: [
        {
          sink: slow,
          delivery: 'best-effort',
          queue: { maxEvents: 5, maxBatch: 2, maxInFlight: 1 },
        },
      ],
      rateLimit: false,
    });
    // Never awaits the sink: all 20 emits resolve at once.
    await Promise.all(Array.from({ length: 20 }, (_, i) => logger.emit(reject(`p${i}`))));
    expect(logger.metrics().sinks['slow']).toMatchObject({ dropped: 15, queued: 3 });
    release();
    await logger.flush();
    const summary = written.find((r) => r.event.type === 'audit.events_dropped')!;
    expect(summary.event.details).toMatchObject({
      sink: 'slow',
      dropped_count: 15,
      queue_full_count: 15,
      write_failed_count: 0,
    });
    expect(written.filter((r) => r.event.type === 'session.rejected')).toHaveLength(5);
    await logger.close();
  });

  it('hands a backlog to the sink in up to maxInFlight calls at once, in order', async () => {
    const calls: { records: string[]; release: () => void }[] = [];
    const held: AuditSink = {
      name: 'held',
      write(records) {
        return new Promise<void>((release) =>
          calls.push({ records: records.map((r) => r.event.actor.id), release }),
        );
      },
    };
    const logger = createAuditLogger({
      source: { component: 't' },
      sinks: [
        {
          sink: held,
          delivery: 'best-effort',
          queue: { maxEvents: 100, maxBatch: 3, maxInFlight: 2 },
        },
      ],
      rateLimit: false,
    });
    await Promise.all(Array.from({ length: 10 }, (_, i) => logger.emit(reject(`p${i}`))));
    await new Promise((r) => setImmediate(r));
    // Two calls of three records are out; the other four wait for them.
    expect(calls.map((c) => c.records)).toEqual([
      ['p0', 'p1', 'p2'],
      ['p3', 'p4', 'p5'],
    ]);
    expect(logger.metrics().sinks['held']).toMatchObject({ queued: 4, written: 0 });
    calls[1]!.release();
    await new Promise((r) => setImmediate(r));
    // The next round starts only once both calls of the round settled.
    expect(calls).toHaveLength(2);
    calls[0]!.release();
    await new Promise((r) => setImmediate(r));
    expect(calls.slice(2).map((c) => c.records)).toEqual([['p6', 'p7', 'p8'], ['p9']]);
    for (const c of calls.slice(2)) c.release();
    await logger.flush();
    expect(logger.metrics().sinks['held']).toMatchObject({ queued: 0, written: 10, dropped: 0 });
    await logger.close();
  });

  it('keeps the backlog of a sink with writeLines as encoded lines and hands them over in order', async () => {
    const received: string[] = [];
    const counts: number[] = [];
    let fail = false;
    const pending: (() => void)[] = [];
    const lines: AuditSink = {
      name: 'lines',
      write: () => Promise.reject(new Error('write must not be used')),
      writeLines(chunks, count) {
        const text = chunks.map((c) => new TextDecoder().decode(c)).join('');
        counts.push(count);
        if (fail) return Promise.reject(new Error('disk full'));
        return new Promise<void>((resolve) =>
          pending.push(() => {
            // Read when the write completes: the chunks are still intact then.
            expect(chunks.map((c) => new TextDecoder().decode(c)).join('')).toBe(text);
            received.push(...text.split('\n').slice(0, -1));
            resolve();
          }),
        );
      },
    };
    const memory = new MemoryAuditSink({ name: 'main' });
    const logger = createAuditLogger({
      source: { component: 't' },
      sinks: [
        { sink: memory, delivery: 'must-write' },
        {
          sink: lines,
          delivery: 'best-effort',
          queue: { maxEvents: 8, maxBatch: 3, maxInFlight: 2, backoffMs: 1, maxBackoffMs: 1 },
        },
      ],
      rateLimit: false,
    });
    await Promise.all(Array.from({ length: 10 }, (_, i) => logger.emit(reject(`p${i}`))));
    expect(logger.metrics().sinks['lines']).toMatchObject({ queued: 2, dropped: 2 });
    while (pending.length > 0 || logger.metrics().sinks['lines']!.queued > 0) {
      pending.splice(0).forEach((done) => done());
      await new Promise((r) => setImmediate(r));
    }
    // Exactly the JSON the must-write sink got, in order; the two dropped ones reported.
    const ids = received.map((l) => (JSON.parse(l) as { actor: { id: string } }).actor.id);
    expect(ids.slice(0, 8)).toEqual(['p0', 'p1', 'p2', 'p3', 'p4', 'p5', 'p6', 'p7']);
    expect(received.slice(0, 8)).toEqual(memory.records.slice(0, 8).map((r) => r.json));
    // The drop summary joins the open batch as soon as the first write succeeded.
    expect(counts).toEqual([3, 3, 3]);
    expect(JSON.parse(received[8]!)).toMatchObject({
      type: 'audit.events_dropped',
      details: { sink: 'lines', queue_full_count: 2 },
    });
    // A failed writeLines drops its batch like a failed write.
    fail = true;
    await logger.emit(reject('lost'));
    await logger.flush();
    expect(logger.metrics().sinks['lines']).toMatchObject({ dropped: 3, queued: 0 });
    await logger.close();
  });

  it('backs off while a sink fails and tells other sinks about the drops', async () => {
    const flaky = new MemoryAuditSink({ name: 'flaky' });
    const audit = new MemoryAuditSink({ name: 'main' });
    const logger = createAuditLogger({
      source: { component: 't' },
      sinks: [
        { sink: audit, delivery: 'must-write' },
        { sink: flaky, delivery: 'best-effort', queue: { backoffMs: 5, maxBackoffMs: 10 } },
      ],
      rateLimit: false,
    });
    flaky.failWith(new Error('503'));
    for (let i = 0; i < 3; i++) await logger.emit(reject(`p${i}`));
    await logger.flush();
    flaky.failWith(undefined);
    await logger.emit(reject('after'));
    await logger.flush();
    expect(audit.events.find((e) => e.type === 'audit.events_dropped')?.details).toMatchObject({
      sink: 'flaky',
      write_failed_count: 3,
    });
    expect(flaky.events.find((e) => e.type === 'audit.events_dropped')).toBeDefined();
    await logger.close();
  });

  it('refuses bad configuration', () => {
    const sink = new MemoryAuditSink();
    expect(() => createAuditLogger({ source: { component: 't' }, sinks: [] })).toThrow(
      /at least one sink/,
    );
    expect(() =>
      createAuditLogger({
        source: { component: 't' },
        sinks: [
          { sink, delivery: 'must-write' },
          { sink, delivery: 'best-effort' },
        ],
      }),
    ).toThrow(/two sinks/);
    expect(() =>
      createAuditLogger({
        source: { component: 't' },
        sinks: [{ sink, delivery: 'best-effort', queue: { maxEvents: 0 } }],
      }),
    ).toThrow(/maxEvents/);
  });
});

describe('JSON-lines stream sink', () => {
  it('writes one line per event to a WritableStream and closes it', async () => {
    let text = '';
    let closed = false;
    const stream = new WritableStream<Uint8Array>({
      write(chunk) {
        text += new TextDecoder().decode(chunk);
      },
      close() {
        closed = true;
      },
    });
    const sink = createJsonLinesSink({ stream });
    const logger = createAuditLogger({
      source: { component: 't' },
      sinks: [{ sink, delivery: 'must-write' }],
    });
    await logger.emit(reject('a'));
    await sink.write([]);
    await logger.close();
    expect(closed).toBe(true);
    await expect(sink.write([])).rejects.toMatchObject({ code: 'PLB_AUDIT_SINK_CLOSED' });
    const lines = text.trimEnd().split('\n');
    expect(lines).toHaveLength(1);
    expect(JSON.parse(lines[0]!)).toMatchObject({ type: 'session.rejected' });
  });

  it('gives the stream its own copy of encoded lines, which the caller may then reuse', async () => {
    const held: Uint8Array[] = [];
    const sink = createJsonLinesSink({
      stream: new WritableStream<Uint8Array>({ write: (chunk) => void held.push(chunk) }),
    });
    const chunks = [new TextEncoder().encode('{"a":1}\n'), new TextEncoder().encode('{"b":2}\n')];
    await sink.writeLines!(chunks, 2);
    for (const c of chunks) c.fill(0);
    expect(held.map((c) => new TextDecoder().decode(c)).join('')).toBe('{"a":1}\n{"b":2}\n');
    await sink.close!();
    await expect(sink.writeLines!(chunks, 2)).rejects.toMatchObject({
      code: 'PLB_AUDIT_SINK_CLOSED',
    });
  });

  it('writes batches to a Node stream through Writable.toWeb and can leave it open', async () => {
    const chunks: string[] = [];
    const node = new Writable({
      write(chunk: Buffer, _enc, cb) {
        chunks.push(chunk.toString());
        cb();
      },
    });
    const sink = createJsonLinesSink({
      stream: Writable.toWeb(node) as WritableStream<Uint8Array>,
      closeStream: false,
      name: 'stdout',
    });
    const m = new MemoryAuditSink();
    const logger = createAuditLogger({
      source: { component: 't' },
      sinks: [{ sink: m, delivery: 'must-write' }],
    });
    await logger.emit(reject('a'));
    await logger.emit(reject('b'));
    await sink.write(m.records);
    await sink.flush!();
    await sink.close!();
    await sink.close!();
    expect(chunks.join('').split('\n')).toHaveLength(3);
    expect(node.writableEnded).toBe(false);
  });
});
