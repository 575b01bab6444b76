/**
 * Audit trail throughput and latency:
 * - best-effort JSON-lines file sink with redaction (events/s, MiB/s) next to pino writing the
 *   same event objects to the same disk in the same run, with a secret in 1 of 10 events and
 *   again with a secret in every event;
 * - must-write file sink with batched fsync: p50/p99 latency per event at 1,000 and 10,000
 *   events/s (open loop), next to one raw append + fdatasync measured in the same run;
 * - transparency log (Ed25519 checkpoints every 1,000 records): cost per event next to the plain
 *   file sink writing the same records, and `audit verify` throughput next to raw SHA-256 of
 *   the same file.
 */
import { createReadStream } from 'node:fs';
import { mkdir, open, rm, stat } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import pino from 'pino';
import {
  MemoryAuditSink,
  createAuditLogger,
  provenanceRead,
  sessionRejected,
  verifyTransparencyLog,
  type AuditEventInput,
  type AuditRecord,
} from '@plumbline/core/audit';
import { createAuditFileSink, createAuditTransparencyLog } from '@plumbline/core/node';
import {
  createKeySignatureVerifier,
  createKeySigner,
  generateSigningKeyPair,
} from '@plumbline/core/signer';
import { median, quantile, report } from './lib/report.js';

const DIR = join(process.cwd(), '.bench-data', 'audit');
const EVENTS = Number(process.env['AUDIT_BENCH_EVENTS'] ?? 200_000);
const SECONDS = Number(process.env['AUDIT_BENCH_SECONDS'] ?? 4);

/**
 * A `provenance.read` event as the admin hook records it (the principal is the token's name).
 * Every `secretEvery`-th event carries a credential in its reason, which redaction must find.
 */
function sampleInput(i: number, secretEvery = 10): AuditEventInput {
  return provenanceRead({
    actor: { type: 'service', id: `ops-${i % 16}`, address: '10.0.3.17' },
    reason:
      i % secretEvery === 0
        ? 'retry after 401 with token=8c1f0a77e2d94b3c'
        : 'scheduled provenance audit',
    trace: { trace_id: '4bf92f3577b34da6a3ce929d0e0e4736', span_id: '00f067aa0ba902b7' },
    details: {
      node_id: `gw-${i % 64}`,
      artifact_hash: `sha256:${'ab'.repeat(32)}`,
      path: '/_admin/provenance',
      status: 200,
    },
  });
}

async function bestEffortVsPino(secretEvery: number): Promise<void> {
  const inputs = Array.from({ length: 1024 }, (_, i) => sampleInput(i, secretEvery));
  const ours = join(DIR, 'best-effort.log');
  const theirs = join(DIR, 'pino.log');
  const rates: number[] = [];
  const byteRates: number[] = [];
  const pinoRates: number[] = [];
  const pinoByteRates: number[] = [];
  // The objects pino writes: the same envelopes our sink writes.
  const mem = new MemoryAuditSink();
  const envLogger = createAuditLogger({
    source: { component: 'bench' },
    sinks: [{ sink: mem, delivery: 'must-write' }],
    rateLimit: false,
  });
  for (const input of inputs) await envLogger.emit(input);
  const envelopes = mem.events;
  for (let round = 0; round < 3; round++) {
    await rm(ours, { force: true });
    const sink = await createAuditFileSink({ path: ours, fsync: 'none', maxBytes: 2 ** 40 });
    const logger = createAuditLogger({
      source: { component: 'bench', instance: 'b-1' },
      sinks: [{ sink, delivery: 'best-effort', queue: { maxEvents: 50_000, maxBatch: 2000 } }],
      rateLimit: false,
    });
    const t0 = performance.now();
    for (let i = 0; i < EVENTS; i++) {
      void logger.emit(inputs[i % inputs.length]!);
      if ((i & 4095) === 4095) await new Promise((r) => setImmediate(r));
    }
    await logger.close();
    const seconds = (performance.now() - t0) / 1000;
    const dropped = logger.metrics().sinks['file']!.dropped;
    const written = EVENTS - dropped;
    rates.push(written / seconds);
    byteRates.push((await stat(ours)).size / seconds / 2 ** 20);

    await rm(theirs, { force: true });
    const dest = pino.destination({ dest: theirs, sync: false, minLength: 4096 });
    const log = pino({ base: null, timestamp: false }, dest);
    const p0 = performance.now();
    for (let i = 0; i < EVENTS; i++) {
      log.info(envelopes[i % envelopes.length]);
      if ((i & 4095) === 4095) await new Promise((r) => setImmediate(r));
    }
    const closed = new Promise((r) => dest.once('close', r));
    dest.end();
    await closed;
    const pSeconds = (performance.now() - p0) / 1000;
    pinoRates.push(EVENTS / pSeconds);
    pinoByteRates.push((await stat(theirs)).size / pSeconds / 2 ** 20);
  }
  const rate = median(rates);
  report({
    name: `best-effort JSON-lines file sink + redaction + validation, ${EVENTS} events, ${secretEvery === 1 ? 'a secret in every event' : `a secret in 1 of ${secretEvery}`}, median of 3`,
    value: rate,
    unit: 'events/s',
    baseline: {
      name: 'pino (async destination) writing the same envelopes',
      value: median(pinoRates),
    },
    higherIsBetter: true,
    // The issue's target is for the typical mix; every event with a secret is reported beside it.
    ...(secretEvery === 10 ? { target: '>= 100,000 events/s', met: rate >= 100_000 } : {}),
  });
  report({
    name: `best-effort JSON-lines file sink, bytes written (${secretEvery === 1 ? 'every event' : `1 of ${secretEvery}`} with a secret)`,
    value: median(byteRates),
    unit: 'MiB/s',
    baseline: { name: 'pino', value: median(pinoByteRates) },
    higherIsBetter: true,
  });
}

async function mustWriteLatency(): Promise<void> {
  const path = join(DIR, 'must-write.log');
  // Baseline: one ~400-byte append + fdatasync, the floor of any durable write.
  const raw = await open(join(DIR, 'raw.log'), 'a');
  const line = Buffer.from(`${'x'.repeat(400)}\n`);
  const rawLat: number[] = [];
  for (let i = 0; i < 300; i++) {
    const t = performance.now();
    await raw.write(line);
    await raw.datasync();
    rawLat.push(performance.now() - t);
  }
  await raw.close();
  for (const rate of [1_000, 10_000]) {
    await rm(path, { force: true });
    const sink = await createAuditFileSink({ path, maxBytes: 2 ** 40 });
    const logger = createAuditLogger({
      source: { component: 'bench' },
      sinks: [{ sink, delivery: 'must-write' }],
      rateLimit: false,
    });
    const latencies: number[] = [];
    const pending: Promise<void>[] = [];
    const start = performance.now();
    let sent = 0;
    const total = rate * SECONDS;
    while (sent < total) {
      const due = Math.min(total, Math.floor(((performance.now() - start) / 1000) * rate));
      while (sent < due) {
        const scheduled = start + (sent / rate) * 1000;
        pending.push(
          logger
            .emit(sampleInput(sent))
            .then(() => void latencies.push(performance.now() - scheduled)),
        );
        sent++;
      }
      await new Promise((r) => setTimeout(r, 1));
    }
    await Promise.all(pending);
    await logger.close();
    const p50 = quantile(latencies, 0.5);
    const p99 = quantile(latencies, 0.99);
    report({
      name: `must-write file sink, batched fdatasync, ${rate} events/s offered for ${SECONDS} s: p50 latency`,
      value: p50,
      unit: 'ms',
      baseline: { name: 'one raw append + fdatasync, p50', value: quantile(rawLat, 0.5) },
      higherIsBetter: false,
    });
    report({
      name: `must-write file sink, batched fdatasync, ${rate} events/s: p99 latency`,
      value: p99,
      unit: 'ms',
      baseline: { name: 'one raw append + fdatasync, p99', value: quantile(rawLat, 0.99) },
      higherIsBetter: false,
    });
  }
}

async function transparencyLog(): Promise<void> {
  const memory = new MemoryAuditSink({ maxRecords: EVENTS });
  const logger = createAuditLogger({
    source: { component: 'bench' },
    sinks: [{ sink: memory, delivery: 'must-write' }],
    rateLimit: false,
  });
  for (let i = 0; i < EVENTS / 2; i++)
    await logger.emit(
      sessionRejected({
        actor: { type: 'node', id: `gw-${i % 64}` },
        details: { reason_code: 'timeout' },
      }),
    );
  const records: AuditRecord[] = memory.records;
  const pair = await generateSigningKeyPair({ algorithm: 'ed25519' });
  const signer = await createKeySigner({ privateKey: pair.privateKeyPem });
  const write = async (sink: {
    write(r: readonly AuditRecord[]): Promise<void>;
    close(): Promise<void>;
  }): Promise<number> => {
    const t = performance.now();
    for (let i = 0; i < records.length; i += 100) await sink.write(records.slice(i, i + 100));
    await sink.close();
    return ((performance.now() - t) * 1000) / records.length;
  };
  const plainUs: number[] = [];
  const tlogUs: number[] = [];
  const tlogPath = join(DIR, 'tlog.log');
  for (let round = 0; round < 3; round++) {
    await rm(join(DIR, 'plain.log'), { force: true });
    await rm(tlogPath, { force: true });
    plainUs.push(
      await write(
        await createAuditFileSink({
          path: join(DIR, 'plain.log'),
          fsync: 'none',
          maxBytes: 2 ** 40,
        }),
      ),
    );
    tlogUs.push(
      await write(
        await createAuditTransparencyLog({
          path: tlogPath,
          signer,
          fsync: 'none',
          checkpointEvery: 1000,
        }),
      ),
    );
  }
  report({
    name: `transparency log (RFC 9162 leaf + chain, Ed25519 checkpoint per 1,000), ${records.length} records in batches of 100, per event`,
    value: median(tlogUs),
    unit: 'µs',
    baseline: { name: 'plain JSON-lines file sink, same records', value: median(plainUs) },
    higherIsBetter: false,
  });
  const size = (await stat(tlogPath)).size;
  const verifier = await createKeySignatureVerifier({ publicKey: pair.publicKeyPem });
  const vRates: number[] = [];
  const hRates: number[] = [];
  for (let round = 0; round < 3; round++) {
    const t = performance.now();
    const result = await verifyTransparencyLog(
      createReadStream(tlogPath, { highWaterMark: 1 << 20 }),
      { verifier },
    );
    if (!result.ok) throw new Error('benchmark log did not verify');
    vRates.push(size / 2 ** 20 / ((performance.now() - t) / 1000));
    const h0 = performance.now();
    const hash = createHash('sha256');
    for await (const chunk of createReadStream(tlogPath, { highWaterMark: 1 << 20 }))
      hash.update(chunk as Buffer);
    hash.digest();
    hRates.push(size / 2 ** 20 / ((performance.now() - h0) / 1000));
  }
  const recordsPerMiB = records.length / (size / 2 ** 20);
  report({
    name: `audit verify (with --key), ${records.length}-record log of ${(size / 2 ** 20).toFixed(1)} MiB (${Math.round(median(vRates) * recordsPerMiB)} records/s)`,
    value: median(vRates),
    unit: 'MiB/s',
    baseline: { name: 'raw node:crypto SHA-256 of the same file', value: median(hRates) },
    higherIsBetter: true,
  });
}

/** Runs the audit benchmarks. */
export async function run(): Promise<void> {
  await mkdir(DIR, { recursive: true });
  try {
    await bestEffortVsPino(10);
    await bestEffortVsPino(1);
    await mustWriteLatency();
    await transparencyLog();
  } finally {
    await rm(DIR, { recursive: true, force: true });
  }
}
