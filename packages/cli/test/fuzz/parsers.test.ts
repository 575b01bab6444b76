import { mkdtemp, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readBca } from '@plumbline/barbacane';
import { verifyTransparencyLog, TransparencyLogAppender } from '@plumbline/core/audit';
import { readHeader } from '@plumbline/core/container';
import {
  DRIFT_PROTOCOL,
  encodeFrame,
  parseControlPlaneFrame,
  parseDataPlaneFrame,
} from '@plumbline/core/drift';
import { formatDigest, sha256 } from '@plumbline/core/hash';
import { decodeHeader } from '@plumbline/core/header';
import {
  manifestFromEntries,
  parseEntryProof,
  parseManifest,
  proveEntry,
  serializeManifest,
  verifyEntryProof,
} from '@plumbline/core/manifest';
import {
  createKeySignatureVerifier,
  createKeySigner,
  encodeDsseEnvelope,
  generateSigningKeyPair,
  parseDsseEnvelope,
  signDsseEnvelope,
  verifyDsseEnvelope,
} from '@plumbline/core/signer';
import { verifyImage } from '@plumbline/oci';
import { runCli } from '../helpers.js';
import { describeReport, fuzz, mutated, mutatedText, type FuzzReport } from './harness.js';
import { makeBca, makeLayout, makeTar } from './layouts.js';

const enc = new TextEncoder();
let work: string;
let artifact: Uint8Array;

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'plb-fuzz-'));
  await mkdir(join(work, 'inputs', 'specs'), { recursive: true });
  await writeFile(join(work, 'inputs', 'specs', 'api.yaml'), 'openapi: 3.1.0\n');
  await writeFile(join(work, 'inputs', 'gateway.yaml'), 'listen: 8080\n');
  await writeFile(join(work, 'payload.bin'), '{"compiled":true}\n');
  const sealed = await runCli(
    ['seal', '--inputs', 'inputs', '--payload', 'payload.bin', '--out', 'a.plb'],
    { cwd: work, env: { SOURCE_DATE_EPOCH: '1700000000' } },
  );
  expect(sealed.code).toBe(0);
  artifact = new Uint8Array(await readFile(join(work, 'a.plb')));
});
afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

/** Every count a fuzz target must keep at zero. */
function expectClean(report: FuzzReport): void {
  console.info(describeReport(report));
  expect(report.uncodedSamples, report.target).toEqual([]);
  expect({ uncoded: report.uncoded, hangs: report.hangs, overMemory: report.overMemory }).toEqual({
    uncoded: 0,
    hangs: 0,
    overMemory: 0,
  });
  expect(report.runs).toBeGreaterThan(0);
}

/** JSON.parse's own SyntaxError is the caller's to map; the parser under test gets what parses. */
function parseJsonOr(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

describe('fuzz: parsers end in a coded error or a valid result, never anything else', () => {
  it('container (prefix, header, attachments, payload digest)', async () => {
    expectClean(
      await fuzz('container', mutated(artifact), (bytes) =>
        readHeader(bytes, { artifactDigest: true }),
      ),
    );
  });

  it('CBOR header', async () => {
    const info = await readHeader(artifact);
    expectClean(await fuzz('cbor header', mutated(info.headerBytes), (b) => decodeHeader(b)));
  });

  it('manifests', async () => {
    const manifest = manifestFromEntries(
      ['a.yaml', 'b/c.json', 'd.wasm'].map((path, i) => ({
        path,
        size: i,
        digest: formatDigest(sha256(enc.encode(path))),
      })),
    );
    expectClean(
      await fuzz('manifest', mutated(enc.encode(serializeManifest(manifest))), (b) =>
        parseManifest(b),
      ),
    );
  });

  it('entry proofs', async () => {
    const manifest = manifestFromEntries(
      Array.from({ length: 13 }, (_, i) => ({
        path: `f${i}.yaml`,
        size: i,
        digest: formatDigest(sha256(new Uint8Array([i]))),
      })),
    );
    const text = JSON.stringify(proveEntry(manifest, 'f8.yaml'));
    expectClean(
      await fuzz('entry proof', mutatedText(text), (t) => {
        const value = parseJsonOr(t);
        if (value === undefined) return;
        verifyEntryProof(parseEntryProof(value), { root: manifest.root });
      }),
    );
  });

  it('DSSE bundles', async () => {
    const pair = await generateSigningKeyPair({ algorithm: 'ed25519' });
    const signer = await createKeySigner({ privateKey: pair.privateKeyPem });
    const verifiers = [await createKeySignatureVerifier({ publicKey: pair.publicKeyPem })];
    const envelope = await signDsseEnvelope({
      payload: enc.encode('{"_type":"x"}'),
      signers: signer,
    });
    expectClean(
      await fuzz('dsse bundle', mutated(encodeDsseEnvelope(envelope)), async (b) => {
        await verifyDsseEnvelope(parseDsseEnvelope(b), { verifiers });
      }),
    );
  });

  it('OCI layouts (layer tar and index)', async () => {
    const tar = makeTar([
      { path: 'etc/', type: '5' },
      { path: 'etc/gateway.plb', data: 'x'.repeat(600) },
      { path: 'etc/link', type: '2', linkpath: 'gateway.plb' },
    ]);
    const { header } = await readHeader(artifact);
    let n = 0;
    expectClean(
      await fuzz(
        'oci layer',
        mutated(tar),
        async (layer) => {
          const layout = join(work, `oci-${n++}`);
          await makeLayout(layout, layer);
          try {
            await verifyImage({
              layout,
              artifact: { header, file: join(work, 'a.plb') },
              pathInImage: 'etc/gateway.plb',
            });
          } finally {
            await rm(layout, { recursive: true, force: true });
          }
        },
        { runs: 80 },
      ),
    );
  });

  it('.bca reader', async () => {
    // A real .bca (tar+gzip of a Barbacane v6 manifest and its members), and its inner tar.
    const inner = makeBca();
    const seed = new Uint8Array(gzipSync(inner));
    let n = 0;
    expectClean(
      await fuzz(
        '.bca',
        fc.oneof(
          mutated(seed),
          mutated(inner).map((t) => new Uint8Array(gzipSync(t))),
        ),
        async (bytes) => {
          const file = join(work, `f${n++}.bca`);
          await writeFile(file, bytes);
          try {
            await readBca(file);
          } finally {
            await rm(file, { force: true });
          }
        },
        { runs: 120 },
      ),
    );
  });

  it('drift frames', async () => {
    const A = `sha256:${'a'.repeat(64)}`;
    const hello = encodeFrame({
      type: 'hello',
      protocol: DRIFT_PROTOCOL,
      node_id: 'gw-1',
      cluster: 'prod',
      instance_id: '3f1c2a9e-8f57-4d5e-9a64-0d5c2f7b9e11',
      artifact_hash: A,
      loaded_at: '2026-01-01T00:05:00Z',
      sdk: '@plumbline/core@0.1.0',
    } as never);
    const welcome = encodeFrame({
      type: 'welcome',
      protocol: DRIFT_PROTOCOL,
      heartbeat_interval_ms: 5000,
      server_time: '2026-01-01T00:05:01.000Z',
    } as never);
    expectClean(
      await fuzz(
        'drift frames',
        fc.oneof(mutatedText(hello), mutatedText(welcome), fc.json()),
        (t) => {
          parseDataPlaneFrame(t);
          parseControlPlaneFrame(t);
        },
        { runs: 400 },
      ),
    );
  });

  it('audit transparency log', async () => {
    const log = TransparencyLogAppender.create({ origin: 'fuzz' });
    const lines = [await log.checkpoint({})];
    for (let i = 0; i < 6; i++) {
      lines.push(log.append(JSON.stringify({ schema_version: 1, type: 'x', id: String(i) })));
    }
    lines.push(await log.checkpoint({}));
    expectClean(
      await fuzz('audit log', mutated(enc.encode(lines.map((l) => `${l}\n`).join(''))), (b) =>
        verifyTransparencyLog([b]),
      ),
    );
  });
});
