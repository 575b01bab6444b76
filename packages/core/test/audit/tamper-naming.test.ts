import { beforeAll, describe, expect, it } from 'vitest';
import {
  TransparencyLogAppender,
  createMemoryAuditLogger,
  sessionRejected,
  verifyTransparencyLog,
  type AuditRecord,
} from '@plumbline/core/audit';
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
let lines: string[];

beforeAll(async () => {
  const pair = await generateSigningKeyPair({ algorithm: 'ed25519' });
  signer = await createKeySigner({ privateKey: pair.privateKeyPem });
  verifier = await createKeySignatureVerifier({ publicKey: pair.publicKeyPem });
  const { logger, sink } = createMemoryAuditLogger();
  for (let i = 0; i < 12; i++) {
    await logger.emit(
      sessionRejected({
        actor: { type: 'anonymous', id: `peer-${i}` },
        details: { reason_code: 'unauthenticated', close_code: 4401 },
      }),
    );
  }
  const records: AuditRecord[] = sink.records;
  const log = TransparencyLogAppender.create({ origin: 'tamper-log' });
  lines = [await log.checkpoint({ signer })];
  for (let i = 0; i < 12; i++) {
    lines.push(log.append(records[i]!.json));
    if ((i + 1) % 5 === 0) lines.push(await log.checkpoint({ signer }));
  }
  lines.push(await log.checkpoint({ signer }));
});

const bytesOf = (l: string[]): Uint8Array[] => [enc.encode(l.map((x) => `${x}\n`).join(''))];
const at = (seq: number): number => lines.findIndex((l) => l.startsWith(`{"seq":${seq},`));
/** The same JSON with its keys in reverse order: equal data, other bytes. */
function reserialise(line: string): string {
  const reverse = (v: unknown): unknown =>
    v !== null && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(
          Object.entries(v as Record<string, unknown>)
            .reverse()
            .map(([k, x]) => [k, reverse(x)]),
        )
      : v;
  return JSON.stringify(reverse(JSON.parse(line)));
}

describe('audit verify names each tampering by what happened', () => {
  it('a re-serialised record is modified, not inserted', async () => {
    const t = [...lines];
    t[at(3)] = reserialise(t[at(3)]!);
    const report = await verifyTransparencyLog(bytesOf(t), { verifier });
    expect(report.problem).toMatchObject({ kind: 'modified', seq: 3, position: at(3) + 1 });
    expect(report.problem?.message).toContain('re-serialised');
  });

  it('a record re-serialised with spaces is modified', async () => {
    const t = [...lines];
    t[at(7)] = JSON.stringify(JSON.parse(t[at(7)]!)).replace('{"seq":7,', '{"seq": 7, ');
    const report = await verifyTransparencyLog(bytesOf(t), { verifier });
    expect(report.problem).toMatchObject({ kind: 'modified', seq: 7, position: at(7) + 1 });
  });

  it('a re-serialised checkpoint is modified', async () => {
    const t = [...lines];
    const cp = t.findIndex((l, i) => i > 0 && l.startsWith('{"checkpoint"'));
    t[cp] = reserialise(t[cp]!);
    const report = await verifyTransparencyLog(bytesOf(t), { verifier });
    expect(report.problem).toMatchObject({ kind: 'modified', position: cp + 1 });
  });

  it('a record cut short inside the log is truncated', async () => {
    const t = [...lines];
    t[at(4)] = t[at(4)]!.slice(0, 120);
    const report = await verifyTransparencyLog(bytesOf(t), { verifier });
    expect(report.problem).toMatchObject({ kind: 'truncated', seq: 4, position: at(4) + 1 });
  });

  it('a foreign line is still inserted, a removed record deleted, swapped ones reordered', async () => {
    const foreign = [...lines];
    foreign.splice(at(2), 0, '{"note":"hello"}');
    expect((await verifyTransparencyLog(bytesOf(foreign))).problem?.kind).toBe('inserted');
    const deleted = lines.filter((_, i) => i !== at(2));
    expect((await verifyTransparencyLog(bytesOf(deleted))).problem?.kind).toBe('deleted');
    const swapped = [...lines];
    [swapped[at(1)], swapped[at(2)]] = [swapped[at(2)]!, swapped[at(1)]!];
    expect((await verifyTransparencyLog(bytesOf(swapped))).problem?.kind).toBe('reordered');
  });
});
