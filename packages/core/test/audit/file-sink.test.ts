import { spawn } from 'node:child_process';
import { mkdtemp, readFile, readdir, rm, writeFile, appendFile, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  createAuditLogger,
  sessionRejected,
  verifyTransparencyLog,
  type AuditRecord,
} from '@plumbline/core/audit';
import { createAuditFileSink, createAuditTransparencyLog } from '@plumbline/core/node';
import {
  createKeySignatureVerifier,
  createKeySigner,
  generateSigningKeyPair,
} from '@plumbline/core/signer';
import { createReadStream } from 'node:fs';
import fc from 'fast-check';
import { skipBytes } from '../../src/node/audit-durable-file.js';
import { concatBytes } from '../../src/encoding/hex.js';

const WRITER = fileURLToPath(new URL('./fixtures/crash-writer.ts', import.meta.url));

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'plb-audit-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

function record(i: number): AuditRecord {
  const event = {
    schema_version: '1.0',
    id: `0190a000-0000-7000-8000-${String(i).padStart(12, '0')}`,
    time: '2026-01-01T00:00:00.000Z',
    type: 'session.rejected',
    outcome: 'deny',
    severity: 'medium',
    actor: { type: 'node', id: `n-${i}` },
    source: { component: 't' },
    details: { reason_code: 'timeout' },
  } as const;
  return { event, json: JSON.stringify(event) };
}

/** Runs the crash writer, kills it with SIGKILL after `acks` acknowledgements, returns the acked ids. */
async function crash(kind: string, path: string, acks: number, key?: string): Promise<string[]> {
  const child = spawn(
    process.execPath,
    [
      '--conditions=@plumbline/source',
      '--import',
      'tsx',
      WRITER,
      kind,
      path,
      ...(key ? [key] : []),
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  const acked: string[] = [];
  let buffer = '';
  await new Promise<void>((resolve, reject) => {
    child.on('error', reject);
    child.on('exit', () => resolve());
    child.stdout!.on('data', (chunk: Buffer) => {
      buffer += chunk.toString();
      const lines = buffer.split('\n');
      buffer = lines.pop()!;
      for (const l of lines) if (l !== 'ready') acked.push(l);
      if (acked.length >= acks && child.exitCode === null) child.kill('SIGKILL');
    });
  });
  expect(child.signalCode).toBe('SIGKILL');
  return acked;
}

async function allLines(path: string): Promise<string[]> {
  const files = (await readdir(dir)).filter((f) => join(dir, f).startsWith(path)).sort();
  const out: string[] = [];
  // Rotated files (older) first, then the live file.
  for (const f of [...files.filter((f) => join(dir, f) !== path), 'audit.log'].filter(
    (f, i, a) => a.indexOf(f) === i,
  )) {
    const text = await readFile(join(dir, f), 'utf8').catch(() => '');
    out.push(...text.split('\n'));
  }
  return out;
}

describe('file sink', () => {
  it('writes JSON lines, group-commits concurrent writes, and refuses writes after close', async () => {
    const path = join(dir, 'audit.log');
    const sink = await createAuditFileSink({ path });
    await Promise.all(Array.from({ length: 50 }, (_, i) => sink.write([record(i)])));
    await sink.write([]);
    await sink.flush();
    await sink.close();
    await sink.close();
    const lines = (await readFile(path, 'utf8')).trimEnd().split('\n');
    expect(lines).toHaveLength(50);
    expect(lines.map((l) => (JSON.parse(l) as { actor: { id: string } }).actor.id)).toEqual(
      Array.from({ length: 50 }, (_, i) => `n-${i}`),
    );
    expect((await stat(path)).mode & 0o777).toBe(0o600);
    await expect(sink.write([record(1)])).rejects.toMatchObject({ code: 'PLB_AUDIT_SINK_CLOSED' });
  });

  it('rotates by size and keeps maxFiles rotated files', async () => {
    const path = join(dir, 'audit.log');
    const sink = await createAuditFileSink({ path, maxBytes: 1000, maxFiles: 2, fsync: 'none' });
    for (let i = 0; i < 30; i++) await sink.write([record(i)]);
    await sink.close();
    const files = (await readdir(dir)).sort();
    expect(files).toContain('audit.log');
    expect(files.filter((f) => f.startsWith('audit.log.'))).toHaveLength(2);
    for (const f of files) expect((await stat(join(dir, f))).size).toBeLessThanOrEqual(1000);
    // The live file ends with the newest event.
    const live = (await readFile(path, 'utf8')).trimEnd().split('\n');
    expect(live.at(-1)).toContain('"n-29"');
  });

  it('appends encoded lines from writeLines (several chunks in one writev) and rotates by size as for write', async () => {
    const path = join(dir, 'audit.log');
    const sink = await createAuditFileSink({ path, maxBytes: 4000, maxFiles: 5, fsync: 'none' });
    const encoder = new TextEncoder();
    const chunk = (from: number, to: number): Uint8Array =>
      encoder.encode(
        Array.from({ length: to - from }, (_, i) => `${record(from + i).json}\n`).join(''),
      );
    for (let i = 0; i < 40; i += 4) {
      // Two chunks per call; every other call goes through write instead.
      await (i % 8 === 0
        ? sink.writeLines!([chunk(i, i + 1), chunk(i + 1, i + 4)], 4)
        : sink.write([record(i), record(i + 1), record(i + 2), record(i + 3)]));
    }
    await sink.writeLines!([], 0);
    await sink.close();
    const files = (await readdir(dir)).sort();
    expect(files.filter((f) => f.startsWith('audit.log.')).length).toBeGreaterThan(1);
    const all: string[] = [];
    for (const f of [...files.filter((f) => f !== 'audit.log'), 'audit.log']) {
      expect((await stat(join(dir, f))).size).toBeLessThanOrEqual(4000);
      all.push(...(await readFile(join(dir, f), 'utf8')).trimEnd().split('\n'));
    }
    expect(all).toEqual(Array.from({ length: 40 }, (_, i) => record(i).json));
    await expect(sink.writeLines!([chunk(0, 1)], 1)).rejects.toMatchObject({
      code: 'PLB_AUDIT_SINK_CLOSED',
    });
    const full = await createAuditFileSink({ path: '/dev/full', fsync: 'none' });
    await expect(full.writeLines!([chunk(0, 1)], 1)).rejects.toMatchObject({ code: 'PLB_IO' });
    await full.close();
  });

  it('resumes a short write at the right byte of the right chunk', () => {
    fc.assert(
      fc.property(
        fc.array(fc.uint8Array({ maxLength: 20 }), { maxLength: 8 }),
        fc.nat(),
        (parts, n) => {
          const all = concatBytes(...parts);
          const skip = n % (all.length + 1);
          const rest = skipBytes(parts, skip);
          expect(concatBytes(...rest)).toEqual(all.subarray(skip));
          for (const part of rest) expect(part.length).toBeGreaterThan(0);
        },
      ),
    );
  });

  it('rotates by age', async () => {
    const path = join(dir, 'audit.log');
    const sink = await createAuditFileSink({ path, maxAgeMs: 1, fsync: 'none' });
    await sink.write([record(0)]);
    await new Promise((r) => setTimeout(r, 5));
    await sink.write([record(1)]);
    await sink.close();
    expect((await readdir(dir)).filter((f) => f.startsWith('audit.log.'))).toHaveLength(1);
  });

  it('cuts a torn last line on open and validates options', async () => {
    const path = join(dir, 'audit.log');
    const torn = '{"schema_version":"1.0","id":"01';
    await writeFile(path, `${record(0).json}\n${torn}`);
    const sink = await createAuditFileSink({ path });
    expect(sink.repairedBytes).toBe(torn.length);
    await sink.write([record(1)]);
    await sink.close();
    const lines = (await readFile(path, 'utf8')).trimEnd().split('\n');
    expect(lines.map((l) => JSON.parse(l) as unknown)).toHaveLength(2);
    await writeFile(path, 'no newline at all');
    const again = await createAuditFileSink({ path });
    expect(again.repairedBytes).toBe(17);
    await again.close();
    await expect(createAuditFileSink({ path, maxBytes: 0 })).rejects.toMatchObject({
      code: 'PLB_AUDIT_CONFIG',
    });
    await expect(
      createAuditFileSink({ path: join(dir, 'missing', 'x.log') }),
    ).rejects.toMatchObject({ code: 'PLB_IO' });
  });

  it('fails closed on a full disk and stays failed until reopened', async () => {
    const sink = await createAuditFileSink({ path: '/dev/full', fsync: 'none' });
    await expect(sink.write([record(0)])).rejects.toMatchObject({ code: 'PLB_IO' });
    await expect(sink.write([record(1)])).rejects.toMatchObject({ code: 'PLB_AUDIT_SINK_FAILED' });
    await sink.close();
    await expect(
      createAuditTransparencyLog({ path: '/dev/full', fsync: 'none' }),
    ).rejects.toMatchObject({ code: 'PLB_IO' });
  });

  it('never loses an acknowledged event when the process is killed mid-write', async () => {
    const path = join(dir, 'audit.log');
    const acked = await crash('file', path, 400);
    expect(acked.length).toBeGreaterThanOrEqual(400);
    // Reopening repairs a torn tail; every line left is a whole event.
    const sink = await createAuditFileSink({ path });
    await sink.close();
    const lines = (await allLines(path)).filter((l) => l.length > 0);
    const ids = new Set(lines.map((l) => (JSON.parse(l) as { id: string }).id));
    for (const id of acked) expect(ids.has(id)).toBe(true);
    expect((await readdir(dir)).length).toBeGreaterThan(1); // it rotated while writing
  });
});

describe('transparency-log sink', () => {
  it('writes a signed log that verifies, continues it after reopening, and refuses a tampered one', async () => {
    const pair = await generateSigningKeyPair({ algorithm: 'ed25519' });
    const signer = await createKeySigner({ privateKey: pair.privateKeyPem });
    const verifier = await createKeySignatureVerifier({ publicKey: pair.publicKeyPem });
    const path = join(dir, 'audit.log');
    let sink = await createAuditTransparencyLog({
      path,
      signer,
      checkpointEvery: 4,
      origin: 'plumbline-audit/test',
    });
    expect(sink.origin).toBe('plumbline-audit/test');
    const audit = createAuditLogger({
      source: { component: 't' },
      sinks: [{ sink, delivery: 'must-write' }],
      rateLimit: false,
    });
    for (let i = 0; i < 10; i++) {
      await audit.emit(
        sessionRejected({
          actor: { type: 'node', id: `n-${i}` },
          details: { reason_code: 'timeout' },
        }),
      );
    }
    expect(sink.size).toBe(10);
    await sink.checkpoint();
    await audit.close();
    let report = await verifyTransparencyLog(createReadStream(path), { verifier });
    expect(report).toMatchObject({ ok: true, records: 10, sealed_size: 10, unsealed_records: 0 });
    expect(report.checkpoints).toBeGreaterThanOrEqual(3);

    sink = await createAuditTransparencyLog({ path, signer, checkpointEvery: 100 });
    expect(sink.origin).toBe('plumbline-audit/test');
    await sink.write([record(10), record(11)]);
    await sink.close();
    report = await verifyTransparencyLog(createReadStream(path), { verifier });
    expect(report).toMatchObject({ ok: true, records: 12, sealed_size: 12 });

    const text = await readFile(path, 'utf8');
    await writeFile(path, text.replace('"n-3"', '"n-X"'));
    await expect(createAuditTransparencyLog({ path, signer })).rejects.toMatchObject({
      code: 'PLB_AUDIT_LOG_TAMPERED',
    });
    await writeFile(path, `${record(0).json}\n`);
    await expect(createAuditTransparencyLog({ path })).rejects.toMatchObject({
      code: 'PLB_AUDIT_LOG_TAMPERED',
    });
  });

  it('checkpoints pending records on its interval timer', async () => {
    const path = join(dir, 'audit.log');
    const sink = await createAuditTransparencyLog({
      path,
      checkpointIntervalMs: 20,
      checkpointEvery: 1000,
    });
    await sink.write([record(0), record(1)]);
    await sink.write([]);
    let report = await verifyTransparencyLog(createReadStream(path));
    for (let i = 0; i < 100 && report.sealed_size < 2; i++) {
      await new Promise((r) => setTimeout(r, 20));
      report = await verifyTransparencyLog(createReadStream(path));
    }
    expect(report).toMatchObject({ ok: true, sealed_size: 2, unsealed_records: 0 });
    await sink.close();
    await sink.close();
    await expect(sink.write([record(2)])).rejects.toMatchObject({ code: 'PLB_AUDIT_SINK_CLOSED' });
    await expect(createAuditTransparencyLog({ path, checkpointEvery: 0 })).rejects.toMatchObject({
      code: 'PLB_AUDIT_CONFIG',
    });
  });

  it('keeps writing records when signing fails, and reports it', async () => {
    const path = join(dir, 'audit.log');
    let fail = false;
    const errors: string[] = [];
    const pair = await generateSigningKeyPair();
    const real = await createKeySigner({ privateKey: pair.privateKeyPem });
    const signer = {
      algorithm: real.algorithm,
      keyId: real.keyId,
      sign: (d: Uint8Array) => (fail ? Promise.reject(new Error('hsm offline')) : real.sign(d)),
    };
    const sink = await createAuditTransparencyLog({
      path,
      signer,
      checkpointEvery: 2,
      onError: (e) => errors.push(e.code),
    });
    fail = true;
    await sink.write([record(0), record(1), record(2)]);
    expect(errors).toContain('PLB_AUDIT_CHECKPOINT_FAILED');
    fail = false;
    await sink.write([record(3)]);
    await sink.close();
    const report = await verifyTransparencyLog(createReadStream(path), {
      verifier: real.verifier(),
    });
    expect(report).toMatchObject({ ok: true, records: 4, sealed_size: 4 });
    fail = true;
    await expect(
      createAuditTransparencyLog({ path: join(dir, 'b.log'), signer }),
    ).rejects.toMatchObject({
      code: 'PLB_AUDIT_CHECKPOINT_FAILED',
    });
  });

  it('never loses an acknowledged record when killed mid-write, and the log still verifies', async () => {
    const pair = await generateSigningKeyPair({ algorithm: 'ed25519' });
    const path = join(dir, 'audit.log');
    const acked = await crash(
      'tlog',
      path,
      300,
      Buffer.from(pair.privateKeyPem).toString('base64'),
    );
    const verifier = await createKeySignatureVerifier({ publicKey: pair.publicKeyPem });
    const report = await verifyTransparencyLog(createReadStream(path), { verifier });
    expect(report.ok).toBe(true);
    const text = await readFile(path, 'utf8');
    for (const id of acked) expect(text).toContain(`"id":"${id}"`);
    // Reopening cuts a torn tail and continues the same log.
    const sink = await createAuditTransparencyLog({
      path,
      signer: await createKeySigner({ privateKey: pair.privateKeyPem }),
    });
    await sink.write([record(1)]);
    await sink.close();
    const after = await verifyTransparencyLog(createReadStream(path), { verifier });
    expect(after).toMatchObject({ ok: true, records: report.records + 1, unsealed_records: 0 });
    expect(after.torn_tail).toBeUndefined();
    await appendFile(path, 'garbage\n');
    expect((await verifyTransparencyLog(createReadStream(path))).problem?.kind).toBe('inserted');
  });
});
