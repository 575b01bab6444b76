/**
 * Signing: key-based Sigstore bundle signing and offline verification of the SLSA statement of a
 * 10,000-input artifact, next to raw node:crypto ECDSA P-256 sign/verify of the same statement
 * bytes in the same run (the floor: what any signature over those bytes costs).
 */
import { createPrivateKey, createPublicKey, generateKeyPairSync, sign, verify } from 'node:crypto';
import { buildProvenanceStatement, encodeStatement } from '@plumbline/core/attest';
import type { ProvenanceHeader } from '@plumbline/core/header';
import {
  createKeySigner,
  createKeyVerifier,
  encodeDsseEnvelope,
  signDsseEnvelope,
  DSSE_ENVELOPE_ATTACHMENT,
} from '@plumbline/core/signer';
import { createKeyBundle, createSigstoreVerifier } from '@plumbline/sigstore';
import { report } from './lib/report.js';

const INPUTS = 10_000;

function hex(i: number, salt: number): string {
  return ((i * 2654435761 + salt) >>> 0).toString(16).padStart(8, '0').repeat(8);
}

async function perSecond(fn: () => unknown, ms = 2000): Promise<number> {
  for (let i = 0; i < 3; i++) await fn(); // warm up
  let n = 0;
  const start = performance.now();
  while (performance.now() - start < ms) {
    await fn();
    n++;
  }
  return (n * 1000) / (performance.now() - start);
}

export async function run(): Promise<void> {
  const header: ProvenanceHeader = {
    format: 'plumbline.header/v1',
    artifact_hash: `sha256:${hex(1, 1)}`,
    hash_alg: 'sha256',
    build_timestamp: '2026-01-02T03:04:05Z',
    provenance: {
      commit: '0123456789abcdef0123456789abcdef01234567',
      source: 'https://github.com/example/gateway-config',
      ref: 'refs/heads/main',
      builder: { id: 'https://plumbline.dev/builders/cli', version: '0.1.0' },
    },
    inputs: Array.from({ length: INPUTS }, (_, i) => ({
      path: `specs/service-${String(i).padStart(5, '0')}/openapi.yaml`,
      size: 1000 + i,
      digest: `sha256:${hex(i, 7)}` as const,
      role: 'spec' as const,
    })),
    payload: {
      digest: `sha256:${hex(2, 2)}`,
      size: 1 << 20,
      media_type: 'application/octet-stream',
    },
    extensions: {},
  };
  const expected = {
    artifactDigest: `sha256:${hex(3, 3)}`,
    artifactHash: header.artifact_hash,
    headerDigest: `sha256:${hex(4, 4)}`,
  } as const;
  const statement = buildProvenanceStatement({ header, ...expected, subjectName: 'gateway.plb' });
  const payload = encodeStatement(statement);
  console.log(`  statement: ${INPUTS} inputs, ${(payload.length / 1024).toFixed(0)} KiB`);

  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const privatePem = privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;
  const publicPem = publicKey.export({ type: 'spki', format: 'pem' }) as string;
  const rawKey = createPrivateKey(privatePem);
  const rawPub = createPublicKey(publicPem);

  const rawSign = await perSecond(() =>
    sign('sha256', payload, { key: rawKey, dsaEncoding: 'der' }),
  );
  const rawSignature = sign('sha256', payload, { key: rawKey, dsaEncoding: 'der' });
  const rawVerify = await perSecond(() =>
    verify('sha256', payload, { key: rawPub, dsaEncoding: 'der' }, rawSignature),
  );

  // Core DSSE (no Sigstore): sign and verify the envelope, then check the statement's subject.
  const signer = await createKeySigner({ privateKey: privatePem });
  const dsseSign = await perSecond(() => signDsseEnvelope({ payload, signers: signer }));
  const envelopeBytes = encodeDsseEnvelope(await signDsseEnvelope({ payload, signers: signer }));
  const keyVerifier = await createKeyVerifier({ publicKeys: [publicPem] });
  const subject = { ...expected, attachments: { [DSSE_ENVELOPE_ATTACHMENT]: envelopeBytes } };
  const check = await keyVerifier.verify(subject);
  if (!check.valid) throw new Error(`benchmark setup: ${check.reason}`);
  const dsseVerify = await perSecond(() => keyVerifier.verify(subject));

  // Sigstore bundle (v0.3, DSSE) signed with the local key; offline verification.
  const bundleSign = await perSecond(() => createKeyBundle({ payload, privateKey: privatePem }));
  const bundleBytes = new TextEncoder().encode(
    JSON.stringify(await createKeyBundle({ payload, privateKey: privatePem })),
  );
  const sigstore = await createSigstoreVerifier({ publicKeys: [publicPem] });
  const verdict = await sigstore.verifyBundle(bundleBytes, expected);
  if (!verdict.valid) throw new Error(`benchmark setup: ${verdict.reason}`);
  const bundleVerify = await perSecond(() => sigstore.verifyBundle(bundleBytes, expected));

  const raw = (name: string, value: number) => ({ name, value });
  report({
    name: `DSSE sign (core), ${INPUTS}-input statement`,
    value: dsseSign,
    unit: 'ops/s',
    higherIsBetter: true,
    baseline: raw('node:crypto ECDSA sign', rawSign),
    target: '>= 15% of baseline',
    met: dsseSign >= rawSign * 0.15,
  });
  report({
    name: `DSSE verify + subject check (core key verifier)`,
    value: dsseVerify,
    unit: 'ops/s',
    higherIsBetter: true,
    baseline: raw('node:crypto ECDSA verify', rawVerify),
    target: '>= 5 ops/s',
    met: dsseVerify >= 5,
  });
  report({
    name: `Sigstore bundle sign (key-based)`,
    value: bundleSign,
    unit: 'ops/s',
    higherIsBetter: true,
    baseline: raw('node:crypto ECDSA sign', rawSign),
    target: '>= 10% of baseline',
    met: bundleSign >= rawSign * 0.1,
  });
  report({
    name: `Sigstore bundle verify (offline, key-based)`,
    value: bundleVerify,
    unit: 'ops/s',
    higherIsBetter: true,
    baseline: raw('node:crypto ECDSA verify', rawVerify),
    target: '>= 5 ops/s',
    met: bundleVerify >= 5,
  });
}
