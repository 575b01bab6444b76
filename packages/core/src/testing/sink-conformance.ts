import type { AuditRecord, AuditSink } from '../audit/sink.js';
import { createAuditLogger } from '../audit/logger.js';
import { MemoryAuditSink } from '../audit/memory-sink.js';
import { sessionRejected } from '../audit/catalogue.js';
import { concatBytes } from '../encoding/hex.js';
import {
  check,
  checkEqual,
  clauseRunnerWith,
  rejectsWith,
  suiteContext,
  withFreshHarness,
  type ConformanceTestApi,
  type ConformanceOptions,
} from './api.js';
import { AUDIT_SINK_CLAUSES as A } from './sink-clauses.js';

export { AUDIT_SINK_CLAUSES } from './sink-clauses.js';

/**
 * An audit sink under test, built by the factory passed to {@link describeAuditSinkConformance}.
 *
 * @public
 */
export interface AuditSinkHarness {
  /** A fresh sink over empty storage. */
  readonly sink: AuditSink;
  /**
   * The JSON of every event the storage holds, in order (for a file: the lines). Without it, the
   * suite checks the contract of `write`, `flush` and `close` only.
   */
  read?(): Promise<string[]>;
  /** Opens the sink again over the same storage (to check durability after `close`). */
  reopen?(): Promise<AuditSink>;
  /** Removes the storage. */
  dispose?(): Promise<void>;
}

/**
 * Builds a fresh sink for one test.
 *
 * @public
 */
export type AuditSinkFactory = () => Promise<AuditSinkHarness>;

async function sampleRecords(
  n: number,
  extra: Record<string, unknown> = {},
): Promise<AuditRecord[]> {
  const memory = new MemoryAuditSink();
  const logger = createAuditLogger({
    source: { component: 'sink-conformance' },
    sinks: [{ sink: memory, delivery: 'must-write' }],
    rateLimit: false,
  });
  for (let i = 0; i < n; i++) {
    const input = sessionRejected({
      actor: { type: 'anonymous', id: `peer-${i}` },
      details: { reason_code: 'timeout' },
      reason: i % 3 === 0 ? `ünïcödé ✓ line ${i}` : `line ${i}`,
    });
    await logger.emit({ ...input, details: { ...input.details, ...extra } } as typeof input);
  }
  await logger.close();
  return memory.records;
}

/**
 * Registers the audit sink conformance suite: ordering of one and of concurrent writes, exact
 * bytes, no mutation of records, empty writes, `flush` and idempotent `close`,
 * `PLB_AUDIT_SINK_CLOSED` after close, large and non-ASCII events, use as a must-write sink of an
 * `AuditLogger`, `writeLines` when the sink has it (same bytes and order as `write`, chunks not
 * used after the call settled), and (with `reopen`) durability across a close.
 *
 * @example
 * ```ts
 * import { describeAuditSinkConformance } from '@plumbline/core/testing';
 * await describeAuditSinkConformance('my SIEM sink', async () => ({ sink: createMySink(), read: () => fetchStored() }));
 * ```
 * @public
 */
export async function describeAuditSinkConformance(
  name: string,
  factory: AuditSinkFactory,
  options: ConformanceOptions = {},
): Promise<void> {
  const { api, timeout } = await suiteContext(options);

  const withSink = (body: (harness: AuditSinkHarness) => Promise<void>): Promise<void> =>
    withFreshHarness(factory, (h) => h.sink.close?.(), body);

  const suite: SinkSuite = { api, timeout, withSink };
  api.describe(`audit sink conformance: ${name}`, () => {
    registerStorageTests(suite);
    registerLifecycleTests(suite);
    registerWriteLinesAndDurabilityTests(suite);
  });
}

/** What the test groups of the audit sink suite share. */
interface SinkSuite {
  readonly api: ConformanceTestApi;
  readonly timeout: number;
  /** Runs `body` with a fresh sink, closed and disposed of afterwards. */
  withSink(body: (harness: AuditSinkHarness) => Promise<void>): Promise<void>;
}

/** Exact bytes, call order, empty writes, no mutation, large and non-ASCII events. */
function registerStorageTests({ api, timeout, withSink }: SinkSuite): void {
  const clause = clauseRunnerWith(api, withSink, timeout);
  clause(
    A.exact,
    'stores the exact JSON of every record of one write, in order',
    async ({ sink, read }) => {
      const records = await sampleRecords(25);
      await sink.write(records);
      await expectStored(sink, read, records);
    },
  );

  clause(
    A.exact,
    'stores every record of many writes, however many it already holds',
    async ({ sink, read }) => {
      const records = await sampleRecords(600);
      for (let at = 0, size = 1; at < records.length; at += size, size = (size % 13) + 1) {
        await sink.write(records.slice(at, at + size));
      }
      await expectStored(sink, read, records);
    },
  );

  clause(
    A.callOrder,
    'keeps call order across concurrent writes and accepts empty writes',
    async ({ sink, read }) => {
      const records = await sampleRecords(30);
      await Promise.all([...records.map((r) => sink.write([r])), sink.write([])]);
      await expectStored(sink, read, records);
    },
  );

  clause(A.noMutation, 'never mutates the records it is given', async ({ sink }) => {
    const records = await sampleRecords(3);
    const before = JSON.stringify(records);
    const frozen = records.map((r) => Object.freeze({ event: deepFreeze(r.event), json: r.json }));
    await sink.write(Object.freeze(frozen));
    check(JSON.stringify(records) === before, 'records were modified');
  });

  clause(A.exact, 'stores large and non-ASCII events byte for byte', async ({ sink, read }) => {
    const records = await sampleRecords(2, { claimed_node_id: `gw-ß-😀-${'x'.repeat(400)}` });
    const big = await sampleRecords(1, { claimed_cluster: 'y'.repeat(500) });
    await sink.write([...records, ...big]);
    await expectStored(sink, read, [...records, ...big]);
  });
}

/** Use as a must-write sink of an `AuditLogger`; flush, idempotent close, writes after close. */
function registerLifecycleTests({ api, timeout, withSink }: SinkSuite): void {
  const clause = clauseRunnerWith(api, withSink, timeout);
  clause(
    A.mustWrite,
    'serves as a must-write sink: an emitted event is stored when emit resolves',
    async ({ sink, read }) => {
      const logger = createAuditLogger({
        source: { component: 'sink-conformance' },
        sinks: [{ sink, delivery: 'must-write' }],
        rateLimit: false,
      });
      const result = await logger.emit(
        sessionRejected({
          actor: { type: 'anonymous', id: 'x' },
          details: { reason_code: 'malformed' },
        }),
      );
      check(result.event !== undefined, 'emit returned no event');
      if (read) {
        const stored = await read();
        check(
          stored.some((s) => s.includes(result.event!.id)),
          'the emitted event is not stored',
        );
      }
    },
  );

  clause(
    A.lifecycle,
    'flushes, closes idempotently and refuses writes after close with PLB_AUDIT_SINK_CLOSED',
    async ({ sink }) => {
      await sink.write(await sampleRecords(2));
      await sink.flush?.();
      await sink.close?.();
      await sink.close?.();
      if (sink.close) {
        const records = await sampleRecords(1);
        await rejectsWith(() => sink.write(records), 'PLB_AUDIT_SINK_CLOSED', 'write after close');
      }
    },
  );
}

/** `writeLines` (when the sink has it) and durability across a close and reopen. */
function registerWriteLinesAndDurabilityTests({ api, timeout, withSink }: SinkSuite): void {
  const clause = clauseRunnerWith(api, withSink, timeout);
  clause(
    A.writeLines,
    'writeLines (when the sink has it): same bytes as write, in call order, chunks not kept',
    async ({ sink, read }) => {
      if (!sink.writeLines) return;
      const records = await sampleRecords(12, { claimed_node_id: 'gw-ß-😀' });
      const chunks = (rs: readonly AuditRecord[]): Uint8Array[] =>
        rs.map((r) => encoder.encode(`${r.json}\n`));
      // Interleaved with write: one call of each kind, then concurrent calls of both.
      const first = chunks(records.slice(0, 3));
      await sink.writeLines(first, 3);
      // The caller reuses the memory once the promise settled: nothing may depend on it.
      for (const c of first) c.fill(0x20);
      await sink.write(records.slice(3, 5));
      await Promise.all([
        sink.writeLines(chunks(records.slice(5, 8)), 3),
        sink.write(records.slice(8, 9)),
        sink.writeLines([concatBytes(...chunks(records.slice(9, 12)))], 3),
        sink.writeLines([], 0),
      ]);
      await expectStored(sink, read, records);
      if (sink.close) {
        await sink.close();
        await rejectsWith(
          () => sink.writeLines!(chunks(records.slice(0, 1)), 1),
          'PLB_AUDIT_SINK_CLOSED',
          'writeLines after close',
        );
      }
    },
  );

  clause(
    A.durable,
    'keeps everything written across a close and reopen',
    async ({ sink, read, reopen }) => {
      if (!reopen || !read) return;
      const first = await sampleRecords(5);
      await sink.write(first);
      await sink.close?.();
      const again = await reopen();
      try {
        const second = await sampleRecords(2);
        await again.write(second);
        await again.flush?.();
        checkEqual(
          await read(),
          [...first, ...second].map((r) => r.json),
          'stored events after reopen',
        );
      } finally {
        await again.close?.();
      }
    },
  );
}

const encoder = new TextEncoder();

/** Flushes `sink`, then checks that storage holds exactly the JSON of `records` (when readable). */
async function expectStored(
  sink: AuditSink,
  read: AuditSinkHarness['read'],
  records: readonly AuditRecord[],
): Promise<void> {
  await sink.flush?.();
  if (read)
    checkEqual(
      await read(),
      records.map((r) => r.json),
      'stored events',
    );
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}
