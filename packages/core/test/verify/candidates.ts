import { generateKeyPairSync, sign, verify, type KeyObject } from 'node:crypto';
import { formatDigest, sha256, utf8, type DigestString } from '@plumbline/core/hash';
import type { ProvenanceHeader } from '@plumbline/core/header';
import type { Verifier, SignatureVerdict } from '@plumbline/core/signer';
import type { LoadCandidate } from '@plumbline/core/verify';

export const PAYLOAD = utf8('{"routes":[{"path":"/v1/pets","upstream":"pets:8080"}]}');
export const ARTIFACT_HASH = formatDigest(sha256(utf8('inputs root')));
export const ARTIFACT_DIGEST = formatDigest(sha256(utf8('container bytes')));

export function makeHeader(overrides: Partial<ProvenanceHeader> = {}): ProvenanceHeader {
  return {
    format: 'plumbline.header/v1',
    artifact_hash: ARTIFACT_HASH,
    hash_alg: 'sha256',
    build_timestamp: '2026-06-01T12:00:00Z',
    provenance: {
      commit: 'a'.repeat(40),
      source: 'github.com/acme/gateway-config',
      ref: 'refs/heads/main',
      builder: { id: 'acme-compiler', version: '2.1.0' },
    },
    inputs: [
      {
        path: 'openapi/pets.yaml',
        size: 120,
        digest: formatDigest(sha256(utf8('pets'))),
        role: 'spec',
      },
    ],
    payload: {
      digest: formatDigest(sha256(PAYLOAD)),
      size: PAYLOAD.length,
      media_type: 'application/json',
    },
    extensions: {},
    ...overrides,
  };
}

export function makeCandidate(overrides: Partial<LoadCandidate> = {}): LoadCandidate {
  const header = makeHeader();
  return {
    kind: 'container',
    header,
    headerBytes: utf8(JSON.stringify(header)),
    artifactDigest: ARTIFACT_DIGEST,
    attachments: {},
    payload: PAYLOAD,
    ...overrides,
  };
}

/** A real Ed25519 verifier over the artifact digest, reading attachment `sig`. */
export function ed25519Verifier(publicKey: KeyObject): Verifier {
  return {
    name: 'test:ed25519',
    async verify(subject): Promise<SignatureVerdict> {
      const signature = subject.attachments['sig'];
      if (signature === undefined) return { present: false, valid: false };
      const ok = verify(null, utf8(subject.artifactDigest), publicKey, signature);
      return ok
        ? { present: true, valid: true, signer: { keyId: 'test-key' } }
        : { present: true, valid: false, reason: 'signature does not match' };
    },
  };
}

export function ed25519Keys(): { publicKey: KeyObject; privateKey: KeyObject } {
  return generateKeyPairSync('ed25519');
}

export function signDigest(privateKey: KeyObject, digest: DigestString): Uint8Array {
  return new Uint8Array(sign(null, utf8(digest), privateKey));
}
