import { appendFile, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createAuditLogger,
  sessionRejected,
  verifyAuditInclusionProof,
  type AuditInclusionProof,
} from '@plumbline/core/audit';
import { createAuditFileSink, createAuditTransparencyLog } from '@plumbline/core/node';
import {
  createKeySignatureVerifier,
  createKeySigner,
  generateSigningKeyPair,
} from '@plumbline/core/signer';
import { runCli } from './helpers.js';

let dir: string;
let log: string;
let ids: string[];
let publicKeyPem: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'plb-audit-cli-'));
  const pair = await generateSigningKeyPair({ algorithm: 'ed25519' });
  publicKeyPem = pair.publicKeyPem;
  await writeFile(join(dir, 'pub.pem'), pair.publicKeyPem);
  const other = await generateSigningKeyPair();
  await writeFile(join(dir, 'other.pem'), other.publicKeyPem);
  log = join(dir, 'audit.log');
  const sink = await createAuditTransparencyLog({
    path: log,
    signer: await createKeySigner({ privateKey: pair.privateKeyPem }),
    checkpointEvery: 5,
  });
  const audit = createAuditLogger({
    source: { component: 'cli-test' },
    sinks: [{ sink, delivery: 'must-write' }],
    rateLimit: false,
  });
  ids = [];
  for (let i = 0; i < 12; i++) {
    const r = await audit.emit(
      sessionRejected({
        actor: { type: 'node', id: `gw-${i}` },
        details: { reason_code: 'timeout' },
      }),
    );
    ids.push(r.event!.id);
  }
  await audit.close();
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function copy(name: string, edit: (text: string) => string): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, edit(await readFile(log, 'utf8')));
  return path;
}

describe('plumbline audit verify', () => {
  it('exits 0 for an untouched log checked with its key', async () => {
    const r = await runCli(['audit', 'verify', log, '--key', join(dir, 'pub.pem')]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('records: 12');
    expect(r.stdout).toContain('OK: every record matches');
  });

  it('prints a JSON report', async () => {
    const r = await runCli(['audit', 'verify', log, '--key', join(dir, 'pub.pem'), '--json']);
    expect(r.code).toBe(0);
    const report = JSON.parse(r.stdout) as Record<string, unknown>;
    expect(report).toMatchObject({
      ok: true,
      verified: true,
      format: 'transparency-log',
      records: 12,
      sealed_size: 12,
      signatures: 'verified',
    });
    expect(report['state']).toBeUndefined();
  });

  it('exits 3 when signatures were not checked, 1 with another key', async () => {
    const r = await runCli(['audit', 'verify', log]);
    expect(r.code).toBe(3);
    expect(r.stdout).toContain('signatures were not checked');
    const wrong = await runCli(['audit', 'verify', log, '--key', join(dir, 'other.pem')]);
    expect(wrong.code).toBe(1);
    expect(wrong.stdout).toContain('TAMPERED: bad_signature at line 1');
  });

  it('exits 1 naming the first modified, deleted, reordered or inserted record and its line', async () => {
    const key = ['--key', join(dir, 'pub.pem')];
    const lines = (await readFile(log, 'utf8')).trimEnd().split('\n');
    const at = (seq: number): number => lines.findIndex((l) => l.startsWith(`{"seq":${seq},`)) + 1;

    const modified = await copy('m.log', (t) => t.replace('"gw-3"', '"gw-X"'));
    let r = await runCli(['audit', 'verify', modified, ...key]);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain(`TAMPERED: modified at line ${at(3)} (record 3)`);

    const deleted = await copy('d.log', (t) =>
      t
        .split('\n')
        .filter((_, i) => i !== at(6) - 1)
        .join('\n'),
    );
    r = await runCli(['audit', 'verify', deleted, ...key, '--json']);
    expect(r.code).toBe(1);
    expect(JSON.parse(r.stdout)).toMatchObject({
      ok: false,
      problem: { kind: 'deleted', seq: 6, position: at(6) },
    });

    const reordered = await copy('r.log', (t) => {
      const ls = t.split('\n');
      [ls[at(1) - 1], ls[at(2) - 1]] = [ls[at(2) - 1]!, ls[at(1) - 1]!];
      return ls.join('\n');
    });
    r = await runCli(['audit', 'verify', reordered, ...key]);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain(`TAMPERED: reordered at line ${at(1)} (record 1)`);

    const inserted = await copy('i.log', (t) => {
      const ls = t.split('\n');
      ls.splice(at(8) - 1, 0, ls[at(7) - 1]!);
      return ls.join('\n');
    });
    r = await runCli(['audit', 'verify', inserted, ...key]);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain(`TAMPERED: inserted at line ${at(8)} (record 7)`);
  });

  it('reports records after the last checkpoint and a torn last line as such', async () => {
    const truncated = await copy('t.log', (t) => {
      const ls = t.trimEnd().split('\n');
      // Drop the final checkpoint and leave half a record.
      return `${ls.slice(0, -1).join('\n')}\n{"seq":12,"prev":"00`;
    });
    const r = await runCli(['audit', 'verify', truncated, '--key', join(dir, 'pub.pem')]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/unsealed: 2 records after the last checkpoint/);
    expect(r.stdout).toMatch(/truncated: line \d+ is incomplete/);
  });

  it('exits 3 for a plain JSON-lines log and 2 for a missing file or bad key', async () => {
    const plain = join(dir, 'plain.log');
    const sink = await createAuditFileSink({ path: plain });
    const audit = createAuditLogger({
      source: { component: 't' },
      sinks: [{ sink, delivery: 'must-write' }],
    });
    await audit.emit(
      sessionRejected({ actor: { type: 'node', id: 'a' }, details: { reason_code: 'timeout' } }),
    );
    await audit.close();
    let r = await runCli(['audit', 'verify', plain]);
    expect(r.code).toBe(3);
    expect(r.stdout).toContain('plain JSON-lines audit log with 1 events');
    r = await runCli(['audit', 'verify', join(dir, 'missing.log')]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^plumbline: PLB_IO: /);
    await writeFile(join(dir, 'empty.log'), '');
    expect((await runCli(['audit', 'verify', join(dir, 'empty.log')])).code).toBe(3);
    r = await runCli(['audit', 'verify', log, '--max-line-bytes', '10']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('PLB_AUDIT_LOG_LIMIT');
    expect((await runCli(['audit', 'verify', log, '--max-line-bytes', 'x'])).code).toBe(2);
    await writeFile(join(dir, 'bad.pem'), 'not a key');
    expect((await runCli(['audit', 'verify', log, '--key', join(dir, 'bad.pem')])).code).toBe(2);
  });
});

describe('plumbline audit prove', () => {
  it('prints an inclusion proof that verifies against the signed checkpoint', async () => {
    const r = await runCli(['audit', 'prove', log, ids[7]!, '--json']);
    expect(r.code).toBe(0);
    const proof = JSON.parse(r.stdout) as AuditInclusionProof;
    expect(proof).toMatchObject({ event_id: ids[7], leaf_index: 7, tree_size: 12 });
    const verifier = await createKeySignatureVerifier({ publicKey: publicKeyPem });
    expect(await verifyAuditInclusionProof(proof, { verifier })).toBe(true);
    const text = await runCli(['audit', 'prove', log, ids[0]!]);
    expect(text.code).toBe(0);
    expect(text.stdout).toContain(`event ${ids[0]} is record 0`);
    expect(text.stdout).toContain('signed (ed25519)');
  });

  it('exits 2 for an unknown or unsealed event and a malformed id', async () => {
    let r = await runCli(['audit', 'prove', log, '01900000-0000-7000-8000-000000000000']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('PLB_AUDIT_EVENT_NOT_FOUND');
    r = await runCli(['audit', 'prove', log, 'nope']);
    expect(r.code).toBe(2);
    const unsealed = join(dir, 'unsealed.log');
    await writeFile(
      unsealed,
      (await readFile(log, 'utf8')).trimEnd().split('\n').slice(0, -1).join('\n') + '\n',
    );
    await appendFile(unsealed, '');
    r = await runCli(['audit', 'prove', unsealed, ids[11]!]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('PLB_AUDIT_EVENT_UNSEALED');
  });
});
