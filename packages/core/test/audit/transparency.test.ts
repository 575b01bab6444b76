import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { PlumblineError } from '@plumbline/core';
import {
  TransparencyLogAppender,
  createMemoryAuditLogger,
  proveAuditEvent,
  sessionRejected,
  verifyAuditInclusionProof,
  verifyTransparencyLog,
  type AuditRecord,
} from '@plumbline/core/audit';
import { MerkleTree } from '@plumbline/core/merkle';
import {
  createKeySignatureVerifier,
  createKeySigner,
  generateSigningKeyPair,
  type KeySigner,
  type SignatureVerifier,
} from '@plumbline/core/signer';

const enc = new TextEncoder();

let signer: KeySigner;
let verifier: SignatureVerifier;
let otherVerifier: SignatureVerifier;
let records: AuditRecord[];

beforeAll(async () => {
  const pair = await generateSigningKeyPair({ algorithm: 'ed25519' });
  signer = await createKeySigner({ privateKey: pair.privateKeyPem });
  verifier = await createKeySignatureVerifier({ publicKey: pair.publicKeyPem });
  const other = await generateSigningKeyPair();
  otherVerifier = await createKeySignatureVerifier({ publicKey: other.publicKeyPem });
  const { logger, sink } = createMemoryAuditLogger();
  for (let i = 0; i < 40; i++) {
    await logger.emit(
      sessionRejected({
        actor: { type: 'anonymous', id: `peer-${i}` },
        details: { reason_code: 'unauthenticated', close_code: 4401 },
      }),
    );
  }
  records = sink.records;
});

/** A log of `n` records with a checkpoint every `every` records (and one at the start). */
async function buildLog(
  n: number,
  every: number,
  options: { sign?: boolean; tail?: boolean } = {},
): Promise<string[]> {
  const log = TransparencyLogAppender.create({ origin: 'test-log' });
  const s = options.sign === false ? {} : { signer };
  const lines = [await log.checkpoint(s)];
  for (let i = 0; i < n; i++) {
    lines.push(log.append(records[i % records.length]!.json));
    if ((i + 1) % every === 0) lines.push(await log.checkpoint(s));
  }
  if (options.tail !== false && log.unsealed > 0) lines.push(await log.checkpoint(s));
  return lines;
}

const bytesOf = (lines: string[], torn = ''): Uint8Array[] => [
  enc.encode(lines.map((l) => `${l}\n`).join('') + torn),
];

/** Splits into small chunks, to exercise line reassembly. */
function chunked(lines: string[], size: number): Uint8Array[] {
  const all = bytesOf(lines)[0]!;
  const out: Uint8Array[] = [];
  for (let i = 0; i < all.length; i += size) out.push(all.subarray(i, i + size));
  return out;
}

describe('transparency log', () => {
  it('verifies a signed log, in any chunking, and reports its state', async () => {
    const lines = await buildLog(25, 10);
    for (const size of [1, 7, 4096]) {
      const report = await verifyTransparencyLog(chunked(lines, size), { verifier });
      expect(report).toMatchObject({
        ok: true,
        format: 'transparency-log',
        origin: 'test-log',
        records: 25,
        checkpoints: 4,
        signatures: 'verified',
        sealed_size: 25,
        unsealed_records: 0,
      });
    }
    const root = MerkleTree.fromLeafInputs(
      lines.filter((l) => l.startsWith('{"seq"')).map((l) => enc.encode(l)),
    ).root;
    const report = await verifyTransparencyLog(bytesOf(lines));
    expect(report.sealed_root).toBe(`sha256:${Buffer.from(root).toString('hex')}`);
    expect(report.signatures).toBe('unchecked');
  });

  it('reports records after the last checkpoint and a torn last line, without failing', async () => {
    const lines = await buildLog(25, 10, { tail: false });
    const report = await verifyTransparencyLog(bytesOf(lines, '{"seq":25,"prev":"ab'), {
      verifier,
    });
    expect(report.ok).toBe(true);
    expect(report.sealed_size).toBe(20);
    expect(report.unsealed_records).toBe(5);
    expect(report.torn_tail).toEqual({ position: lines.length + 1, bytes: 20 });
  });

  it('names a modified record and its line', async () => {
    const lines = await buildLog(25, 10);
    const target = lines.findIndex((l) => l.startsWith('{"seq":4,'));
    lines[target] = lines[target]!.replace('"peer-4"', '"peer-X"');
    const report = await verifyTransparencyLog(bytesOf(lines), { verifier });
    expect(report.ok).toBe(false);
    expect(report.problem).toMatchObject({ kind: 'modified', position: target + 1, seq: 4 });
  });

  it('names the last record before a checkpoint when it was modified', async () => {
    const lines = await buildLog(10, 10);
    const target = lines.findIndex((l) => l.startsWith('{"seq":9,'));
    lines[target] = lines[target]!.replace('"peer-9"', '"peer-Y"');
    const report = await verifyTransparencyLog(bytesOf(lines));
    expect(report.problem).toMatchObject({ kind: 'modified', position: target + 1, seq: 9 });
  });

  it('detects a modification whose hash chain was rewritten through the checkpoint', async () => {
    const lines = await buildLog(10, 10, {});
    // Rebuild the chain after changing record 3, keeping the original checkpoint.
    const log = TransparencyLogAppender.create({ origin: 'test-log' });
    await log.checkpoint({ signer });
    const forged = [lines[0]!];
    for (let i = 0; i < 10; i++) {
      const json = records[i]!.json.replace(i === 3 ? '"peer-3"' : '\u0000', '"peer-Z"');
      forged.push(log.append(json));
    }
    const original = JSON.parse(lines[11]!) as { checkpoint: unknown; signature: unknown };
    const rewritten = JSON.parse(await log.checkpoint({ signer })) as { prev: string };
    forged.push(
      JSON.stringify({
        checkpoint: original.checkpoint,
        prev: rewritten.prev,
        signature: original.signature,
      }),
    );
    const report = await verifyTransparencyLog(bytesOf(forged), { verifier });
    expect(report.problem).toMatchObject({ kind: 'modified', position: 2, seq: 0 });
    expect(report.problem?.message).toContain('chain rewritten');
  });

  it('names deleted, reordered and inserted records', async () => {
    const lines = await buildLog(25, 10);
    const at = (seq: number): number => lines.findIndex((l) => l.startsWith(`{"seq":${seq},`));

    const deleted = lines.filter((_, i) => i !== at(5));
    expect((await verifyTransparencyLog(bytesOf(deleted))).problem).toMatchObject({
      kind: 'deleted',
      seq: 5,
      position: at(5) + 1,
    });

    const reordered = [...lines];
    [reordered[at(5)], reordered[at(6)]] = [reordered[at(6)]!, reordered[at(5)]!];
    const r = await verifyTransparencyLog(bytesOf(reordered));
    expect(r.problem).toMatchObject({ kind: 'reordered', seq: 5, position: at(5) + 1 });
    expect(r.problem?.message).toContain(`line ${at(6) + 1}`);

    const duplicated = [...lines];
    duplicated.splice(at(8), 0, lines[at(7)]!);
    expect((await verifyTransparencyLog(bytesOf(duplicated))).problem).toMatchObject({
      kind: 'inserted',
      seq: 7,
      position: at(8) + 1,
    });

    const foreign = [...lines];
    foreign.splice(at(3), 0, '{"hello":"world"}');
    expect((await verifyTransparencyLog(bytesOf(foreign))).problem).toMatchObject({
      kind: 'inserted',
      position: at(3) + 1,
    });

    // The last records before a checkpoint removed: the checkpoint names them.
    const tailCut = lines.filter((_, i) => i !== at(9));
    expect((await verifyTransparencyLog(bytesOf(tailCut))).problem).toMatchObject({
      kind: 'deleted',
      seq: 9,
    });
  });

  it('checks checkpoint signatures, deletions and consistency', async () => {
    const lines = await buildLog(25, 10);
    const cps = lines.map((l, i) => (l.startsWith('{"checkpoint"') ? i : -1)).filter((i) => i >= 0);
    // Another key.
    expect(
      (await verifyTransparencyLog(bytesOf(lines), { verifier: otherVerifier })).problem,
    ).toMatchObject({
      kind: 'bad_signature',
      position: 1,
    });
    // A modified checkpoint (time changed).
    const changed = [...lines];
    changed[cps[1]!] = changed[cps[1]!]!.replace(
      /"time":"[^"]+"/,
      '"time":"2000-01-01T00:00:00.000Z"',
    );
    expect((await verifyTransparencyLog(bytesOf(changed), { verifier })).problem).toMatchObject({
      kind: 'bad_signature',
      position: cps[1]! + 1,
    });
    // Unsigned checkpoints when a key is required.
    const unsigned = await buildLog(5, 10, { sign: false });
    expect((await verifyTransparencyLog(bytesOf(unsigned), { verifier })).problem?.kind).toBe(
      'bad_signature',
    );
    expect((await verifyTransparencyLog(bytesOf(unsigned))).ok).toBe(true);
    // A deleted checkpoint.
    const noCp = lines.filter((_, i) => i !== cps[1]);
    expect((await verifyTransparencyLog(bytesOf(noCp), { verifier })).problem).toMatchObject({
      kind: 'deleted',
      position: cps[1]! + 1,
    });
    // A bad consistency proof (unsigned log, so only the proof can tell).
    const u = await buildLog(25, 10, { sign: false });
    const uc = u.findIndex((l, i) => i > 12 && l.startsWith('{"checkpoint"'));
    u[uc] = u[uc]!.replace(
      /"consistency":\["([0-9a-f])/,
      (_m, c: string) => `"consistency":["${c === '0' ? '1' : '0'}`,
    );
    expect((await verifyTransparencyLog(bytesOf(u))).problem).toMatchObject({
      kind: 'inconsistent_checkpoint',
      position: uc + 1,
    });
    // A checkpoint of another log.
    const other = await buildLog(2, 10);
    const mixed = [...lines.slice(0, 5), other[0]!.replace('test-log', 'other-log')];
    expect((await verifyTransparencyLog(bytesOf(mixed))).problem?.kind).toBe('inserted');
    // Malformed lines.
    expect(
      (await verifyTransparencyLog(bytesOf([...lines.slice(0, 3), '{"checkpoint":{}}']))).problem
        ?.kind,
    ).toBe('malformed');
    expect((await verifyTransparencyLog([new Uint8Array([0xff, 0x0a])])).problem?.kind).toBe(
      'malformed',
    );
  });

  it('finds every single-line tampering (property)', async () => {
    const lines = await buildLog(30, 7);
    const recordIdx = lines.map((l, i) => (l.startsWith('{"seq"') ? i : -1)).filter((i) => i >= 0);
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 0, max: recordIdx.length - 1 }),
        fc.constantFrom('modify', 'delete', 'duplicate', 'swap'),
        fc.integer({ min: 20, max: 200 }),
        async (k, op, charAt) => {
          const t = [...lines];
          const i = recordIdx[k]!;
          if (op === 'modify') {
            const l = t[i]!;
            const p = Math.min(l.length - 2, charAt);
            t[i] = l.slice(0, p) + (l[p] === 'a' ? 'b' : 'a') + l.slice(p + 1);
          } else if (op === 'delete') t.splice(i, 1);
          else if (op === 'duplicate') t.splice(i, 0, t[i]!);
          else {
            const j = recordIdx[(k + 1) % recordIdx.length]!;
            [t[i], t[j]] = [t[j]!, t[i]!];
          }
          const report = await verifyTransparencyLog(bytesOf(t), { verifier });
          expect(report.ok).toBe(false);
          expect(report.problem?.position).toBeGreaterThan(0);
        },
      ),
      { numRuns: 150 },
    );
  });

  it('recognises a plain JSON-lines log and refuses records mixed into it', async () => {
    const plain = records.slice(0, 3).map((r) => r.json);
    const report = await verifyTransparencyLog(bytesOf(plain));
    expect(report).toMatchObject({
      ok: true,
      format: 'json-lines',
      records: 3,
      unsealed_records: 3,
    });
    const lines = await buildLog(2, 10);
    expect((await verifyTransparencyLog(bytesOf([...plain, lines[1]!]))).problem?.kind).toBe(
      'inserted',
    );
    expect((await verifyTransparencyLog(bytesOf([...plain, lines[0]!]))).problem?.kind).toBe(
      'inserted',
    );
    expect((await verifyTransparencyLog([])).format).toBe('empty');
  });

  it('enforces line and record limits', async () => {
    const lines = await buildLog(5, 10);
    await expect(
      verifyTransparencyLog(bytesOf(lines), { maxLineBytes: 100 }),
    ).rejects.toMatchObject({ code: 'PLB_AUDIT_LOG_LIMIT' });
    await expect(
      verifyTransparencyLog(chunked(lines, 3), { maxLineBytes: 100 }),
    ).rejects.toMatchObject({ code: 'PLB_AUDIT_LOG_LIMIT' });
    await expect(verifyTransparencyLog(bytesOf(lines), { maxRecords: 2 })).rejects.toMatchObject({
      code: 'PLB_AUDIT_LOG_LIMIT',
    });
    const controller = new AbortController();
    controller.abort();
    await expect(
      verifyTransparencyLog(bytesOf(lines), { signal: controller.signal }),
    ).rejects.toThrow();
  });

  it('resumes appending from a verified state with consistent checkpoints', async () => {
    const lines = await buildLog(13, 5, { tail: false });
    const report = await verifyTransparencyLog(bytesOf(lines), { verifier });
    const log = TransparencyLogAppender.resume(report.state!);
    expect(log.size).toBe(13);
    expect(log.unsealed).toBe(3);
    const more = [...lines, log.append(records[0]!.json), await log.checkpoint({ signer })];
    expect(await verifyTransparencyLog(bytesOf(more), { verifier })).toMatchObject({
      ok: true,
      records: 14,
      sealed_size: 14,
    });
    expect(() => TransparencyLogAppender.create({ origin: 'a\nb' })).toThrow(PlumblineError);
  });

  it('proves inclusion of an event against its latest checkpoint', async () => {
    const lines = await buildLog(25, 10, { tail: false });
    const id = records[12]!.event.id;
    const proof = await proveAuditEvent(chunked(lines, 50), id);
    expect(proof).toMatchObject({ event_id: id, leaf_index: 12, tree_size: 20 });
    expect(await verifyAuditInclusionProof(proof, { verifier })).toBe(true);
    expect(await verifyAuditInclusionProof(proof, { verifier: otherVerifier })).toBe(false);
    expect(
      await verifyAuditInclusionProof({ ...proof, record: proof.record.replace('peer', 'PEER') }),
    ).toBe(false);
    expect(await verifyAuditInclusionProof({ ...proof, leaf_index: 11 })).toBe(false);
    expect(await verifyAuditInclusionProof({ ...proof, root: proof.path[0]! })).toBe(false);
    await expect(proveAuditEvent(bytesOf(lines), records[22]!.event.id)).rejects.toMatchObject({
      code: 'PLB_AUDIT_EVENT_UNSEALED',
    });
    await expect(
      proveAuditEvent(bytesOf(lines), '01900000-0000-7000-8000-000000000000'),
    ).rejects.toMatchObject({
      code: 'PLB_AUDIT_EVENT_NOT_FOUND',
    });
  });
});
