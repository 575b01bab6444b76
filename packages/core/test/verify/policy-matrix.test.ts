import { describe, expect, it } from 'vitest';
import { PlumblineError } from '@plumbline/core';
import { formatDigest, sha256, utf8 } from '@plumbline/core/hash';
import {
  LoadedArtifactRegistry,
  verifyOnLoad,
  type LoadCandidate,
  type LoadMode,
  type LoadPolicy,
  type LoadRule,
} from '@plumbline/core/verify';
import {
  ARTIFACT_DIGEST,
  ARTIFACT_HASH,
  ed25519Keys,
  ed25519Verifier,
  makeCandidate,
  makeHeader,
  signDigest,
} from './candidates.js';

const keys = ed25519Keys();
const otherKeys = ed25519Keys();
const verifier = ed25519Verifier(keys.publicKey);
const goodSignature = { sig: signDigest(keys.privateKey, ARTIFACT_DIGEST) };

interface Case {
  readonly rule: LoadRule;
  readonly name: string;
  readonly code: string;
  readonly policy: Omit<LoadPolicy, 'mode'>;
  readonly candidate: LoadCandidate;
}

const header = makeHeader();
const cases: Case[] = [
  {
    rule: 'header',
    name: 'legacy artifact without a header',
    code: 'PLB_VERIFY_HEADER_MISSING',
    policy: {},
    candidate: { kind: 'legacy', payload: utf8('legacy bytes') },
  },
  {
    rule: 'header',
    name: 'header that failed to decode',
    code: 'PLB_VERIFY_HEADER_INVALID',
    policy: {},
    candidate: {
      kind: 'container',
      headerError: new PlumblineError('PLB_HEADER_TRUNCATED', 'header truncated'),
      payload: utf8('x'),
    },
  },
  {
    rule: 'payload',
    name: 'payload that does not match the header',
    code: 'PLB_VERIFY_PAYLOAD_MISMATCH',
    policy: {},
    candidate: makeCandidate({ payload: utf8('tampered payload') }),
  },
  {
    rule: 'payload',
    name: 'payload that was not given',
    code: 'PLB_VERIFY_PAYLOAD_UNAVAILABLE',
    policy: {},
    candidate: (() => {
      const { payload: _payload, ...rest } = makeCandidate();
      return rest;
    })(),
  },
  {
    rule: 'commit',
    name: 'header without a commit',
    code: 'PLB_VERIFY_COMMIT_MISSING',
    policy: { requireCommit: true },
    candidate: makeCandidate({
      header: makeHeader({
        provenance: {
          builder: header.provenance.builder,
          source: 'github.com/acme/gateway-config',
        },
      }),
    }),
  },
  {
    rule: 'source',
    name: 'source outside the allow-list',
    code: 'PLB_VERIFY_SOURCE_NOT_ALLOWED',
    policy: { allowedSources: ['github.com/acme/*'] },
    candidate: makeCandidate({
      header: makeHeader({
        provenance: { ...header.provenance, source: 'github.com/mallory/config' },
      }),
    }),
  },
  {
    rule: 'source',
    name: 'header without a source',
    code: 'PLB_VERIFY_SOURCE_NOT_ALLOWED',
    policy: { allowedSources: ['github.com/acme/gateway-config'] },
    candidate: makeCandidate({
      header: makeHeader({ provenance: { builder: header.provenance.builder } }),
    }),
  },
  {
    rule: 'built_after',
    name: 'artifact built before the cut-off',
    code: 'PLB_VERIFY_BUILT_TOO_EARLY',
    policy: { builtNotBefore: '2026-07-01T00:00:00Z' },
    candidate: makeCandidate(),
  },
  {
    rule: 'built_after',
    name: 'header with an unreadable build time',
    code: 'PLB_VERIFY_BUILT_TOO_EARLY',
    policy: { builtNotBefore: new Date('2020-01-01T00:00:00Z') },
    candidate: makeCandidate({ header: makeHeader({ build_timestamp: 'yesterday' }) }),
  },
  {
    rule: 'signature',
    name: 'missing signature',
    code: 'PLB_VERIFY_SIGNATURE_MISSING',
    policy: { requireSignature: true, verifier },
    candidate: makeCandidate(),
  },
  {
    rule: 'signature',
    name: 'signature by another key',
    code: 'PLB_VERIFY_SIGNATURE_INVALID',
    policy: { requireSignature: true, verifier },
    candidate: makeCandidate({
      attachments: { sig: signDigest(otherKeys.privateKey, ARTIFACT_DIGEST) },
    }),
  },
  {
    rule: 'signature',
    name: 'invalid signature even when not required',
    code: 'PLB_VERIFY_SIGNATURE_INVALID',
    policy: { verifier },
    candidate: makeCandidate({
      attachments: { sig: signDigest(otherKeys.privateKey, ARTIFACT_DIGEST) },
    }),
  },
  {
    rule: 'signature',
    name: 'required signature on an artifact without a digest',
    code: 'PLB_VERIFY_SIGNATURE_MISSING',
    policy: { requireSignature: true, verifier },
    candidate: (() => {
      const { artifactDigest: _d, ...rest } = makeCandidate({ attachments: goodSignature });
      return { ...rest, kind: 'embedded' as const };
    })(),
  },
  {
    rule: 'signature',
    name: 'verifier that throws',
    code: 'PLB_VERIFY_VERIFIER_ERROR',
    policy: {
      requireSignature: true,
      verifier: {
        name: 'broken',
        verify: () => {
          throw new Error('boom');
        },
      },
    },
    candidate: makeCandidate({ attachments: goodSignature }),
  },
  {
    rule: 'signature',
    name: 'verifier that rejects',
    code: 'PLB_VERIFY_VERIFIER_ERROR',
    policy: {
      verifier: { name: 'rejects', verify: () => Promise.reject(new TypeError('network')) },
    },
    candidate: makeCandidate({ attachments: goodSignature }),
  },
  {
    rule: 'signature',
    name: 'verifier that returns no verdict',
    code: 'PLB_VERIFY_VERIFIER_ERROR',
    policy: {
      requireSignature: true,
      verifier: { name: 'empty', verify: () => Promise.resolve(null as never) },
    },
    candidate: makeCandidate({ attachments: goodSignature }),
  },
  {
    rule: 'signature',
    name: 'verifier that never answers',
    code: 'PLB_VERIFY_VERIFIER_ERROR',
    policy: {
      requireSignature: true,
      verifierTimeoutMs: 20,
      verifier: { name: 'hangs', verify: () => new Promise(() => undefined) },
    },
    candidate: makeCandidate({ attachments: goodSignature }),
  },
];

describe('verifyOnLoad policy matrix', () => {
  for (const c of cases) {
    describe(`${c.rule}: ${c.name}`, () => {
      it('off: loads without checking', async () => {
        const registry = new LoadedArtifactRegistry();
        const loaded = await verifyOnLoad(c.candidate, { ...c.policy, mode: 'off' }, { registry });
        expect(loaded.verification.status).toBe('skipped');
        expect(loaded.verification.reasons).toEqual([]);
        expect(loaded.verification.checks.every((check) => check.status === 'skipped')).toBe(true);
        expect(registry.get()).toBe(loaded);
      });

      it('warn: loads and says why', async () => {
        const events: string[] = [];
        const registry = new LoadedArtifactRegistry();
        const loaded = await verifyOnLoad(
          c.candidate,
          { ...c.policy, mode: 'warn' },
          { registry, onAudit: (e) => events.push(`${e.type}:${e.outcome}`) },
        );
        expect(loaded.verification.status).toBe('warned');
        const reason = loaded.verification.reasons.find((r) => r.rule === c.rule);
        expect(reason?.code).toBe(c.code);
        expect(registry.get()).toBe(loaded);
        expect(events).toEqual(['artifact.verification_failed:loaded', 'artifact.loaded:loaded']);
      });

      it('enforce: refuses to load', async () => {
        const events: string[] = [];
        const registry = new LoadedArtifactRegistry();
        const error = await verifyOnLoad(
          c.candidate,
          { ...c.policy, mode: 'enforce' },
          { registry, onAudit: (e) => events.push(`${e.type}:${e.outcome}`) },
        ).catch((e: unknown) => e);
        expect(PlumblineError.is(error, 'PLB_LOAD_REJECTED')).toBe(true);
        const reasons = (error as PlumblineError).details['reasons'] as {
          rule: string;
          code: string;
        }[];
        expect(reasons).toContainEqual(expect.objectContaining({ rule: c.rule, code: c.code }));
        expect(registry.get()).toBeUndefined();
        expect(registry.lastLoadError?.code).toBe('PLB_LOAD_REJECTED');
        expect(events).toEqual(['artifact.verification_failed:rejected']);
      });
    });
  }

  const passing: LoadPolicy = {
    mode: 'enforce',
    requireCommit: true,
    allowedSources: ['github.com/acme/gateway-config'],
    builtNotBefore: '2026-01-01T00:00:00Z',
    requireSignature: true,
    verifier,
  };

  for (const mode of ['warn', 'enforce'] as LoadMode[]) {
    it(`${mode}: an artifact that passes every rule is verified`, async () => {
      const loaded = await verifyOnLoad(makeCandidate({ attachments: goodSignature }), {
        ...passing,
        mode,
      });
      expect(loaded.verification.status).toBe('verified');
      expect(loaded.verification.checks.map((c) => [c.rule, c.status])).toEqual([
        ['header', 'passed'],
        ['payload', 'passed'],
        ['commit', 'passed'],
        ['source', 'passed'],
        ['built_after', 'passed'],
        ['signature', 'passed'],
      ]);
      expect(loaded.verification.signature).toEqual({
        verifier: 'test:ed25519',
        present: true,
        valid: true,
        signer: { key_id: 'test-key' },
      });
      expect(loaded.artifact_hash).toBe(ARTIFACT_HASH);
      expect(loaded.artifact_digest).toBe(ARTIFACT_DIGEST);
      expect(loaded.header_digest).toBe(formatDigest(sha256(makeCandidate().headerBytes!)));
    });
  }
});
