import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { PlumblineError } from '@plumbline/core';
import { formatDigest, sha256, utf8 } from '@plumbline/core/hash';
import type { SignatureSubject } from '@plumbline/core/signer';
import { LoadedArtifactRegistry, processInstanceId, verifyOnLoad } from '@plumbline/core/verify';
import { parseRfc3339, sourceAllowed } from '../../src/verify/policy.js';
import {
  ARTIFACT_DIGEST,
  ARTIFACT_HASH,
  PAYLOAD,
  makeCandidate,
  makeHeader,
} from './candidates.js';

const fixed = () => new Date('2026-11-23T10:00:00.000Z');

describe('verifyOnLoad', () => {
  it('records a legacy artifact as unverified when the policy allows it', async () => {
    const loaded = await verifyOnLoad(
      { kind: 'legacy', payload: utf8('old') },
      { mode: 'enforce', requireHeader: false },
      { now: fixed, instanceId: 'inst-1' },
    );
    expect(loaded).toMatchObject({
      artifact_hash: null,
      header_digest: null,
      kind: 'legacy',
      provenance: null,
      build_timestamp: null,
      inputs: [],
      loaded_at: '2026-11-23T10:00:00.000Z',
      instance_id: 'inst-1',
    });
    expect(loaded.verification.status).toBe('unverified');
    expect(loaded.verification.checks.find((c) => c.rule === 'payload')?.status).toBe('skipped');
  });

  it('records the header fields of what it loaded', async () => {
    const header = makeHeader();
    const loaded = await verifyOnLoad(makeCandidate(), { mode: 'enforce' });
    expect(loaded.provenance).toEqual(header.provenance);
    expect(loaded.build_timestamp).toBe(header.build_timestamp);
    expect(loaded.payload).toEqual(header.payload);
    expect(loaded.inputs).toEqual(header.inputs);
    expect(loaded.instance_id).toBe(processInstanceId());
    expect(processInstanceId()).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('uses measurePayload when the payload is not in memory', async () => {
    const { payload: _p, ...rest } = makeCandidate();
    const calls: unknown[] = [];
    const loaded = await verifyOnLoad(
      {
        ...rest,
        measurePayload: async (options) => {
          calls.push(options);
          return { digest: formatDigest(sha256(PAYLOAD)), size: PAYLOAD.length };
        },
      },
      { mode: 'enforce' },
    );
    expect(loaded.verification.status).toBe('verified');
    expect(calls).toHaveLength(1);
  });

  it('detects a size mismatch with an equal digest', async () => {
    const { payload: _p, ...rest } = makeCandidate();
    const error = await verifyOnLoad(
      { ...rest, measurePayload: async () => ({ digest: formatDigest(sha256(PAYLOAD)), size: 1 }) },
      { mode: 'enforce' },
    ).catch((e: unknown) => e);
    expect(PlumblineError.is(error, 'PLB_LOAD_REJECTED')).toBe(true);
  });

  it('fails closed when payload hashing throws under enforce, and warns under warn', async () => {
    const { payload: _p, ...rest } = makeCandidate();
    const candidate = {
      ...rest,
      measurePayload: () => Promise.reject(new PlumblineError('PLB_IO', 'disk gone')),
    };
    const error = await verifyOnLoad(candidate, { mode: 'enforce' }).catch((e: unknown) => e);
    expect(PlumblineError.is(error, 'PLB_LOAD_REJECTED')).toBe(true);
    expect((error as PlumblineError).cause).toBeInstanceOf(PlumblineError);
    expect((error as PlumblineError).message).toContain('disk gone');
    const warned = await verifyOnLoad(candidate, { mode: 'warn' });
    expect(warned.verification.status).toBe('warned');
    expect(warned.verification.reasons[0]?.code).toBe('PLB_IO');
  });

  it('fails closed on a non-Plumbline error without leaking its message', async () => {
    const { payload: _p, ...rest } = makeCandidate();
    const error = await verifyOnLoad(
      { ...rest, measurePayload: () => Promise.reject(new Error('secret=hunter2')) },
      { mode: 'enforce' },
    ).catch((e: unknown) => e);
    expect(PlumblineError.is(error, 'PLB_LOAD_REJECTED')).toBe(true);
    expect((error as Error).message).not.toContain('hunter2');
    expect(JSON.stringify((error as PlumblineError).details)).not.toContain('hunter2');
  });

  it('refuses a header object that is not a provenance header', async () => {
    const bad = makeCandidate({ header: { format: 'x' } as never });
    const error = await verifyOnLoad(bad, { mode: 'enforce' }).catch((e: unknown) => e);
    expect(((error as PlumblineError).details['reasons'] as { code: string }[])[0]?.code).toBe(
      'PLB_VERIFY_HEADER_INVALID',
    );
    const both = makeCandidate({ headerError: new Error('partly decoded') });
    const error2 = await verifyOnLoad(both, { mode: 'enforce' }).catch((e: unknown) => e);
    expect(PlumblineError.is(error2, 'PLB_LOAD_REJECTED')).toBe(true);
    const noPayloadDigest = makeCandidate({ header: makeHeader({ payload: undefined as never }) });
    const warned = await verifyOnLoad(noPayloadDigest, { mode: 'warn' });
    expect(warned.verification.reasons[0]).toMatchObject({
      rule: 'payload',
      code: 'PLB_VERIFY_HEADER_INVALID',
    });
  });

  it('hands the verifier the subject and reports a missing optional signature as skipped', async () => {
    const seen: SignatureSubject[] = [];
    const loaded = await verifyOnLoad(makeCandidate({ detached: utf8('bundle') }), {
      mode: 'enforce',
      verifier: {
        name: 'spy',
        verify: async (subject) => {
          seen.push(subject);
          return { present: false, valid: false };
        },
      },
    });
    expect(seen[0]).toMatchObject({ artifactDigest: ARTIFACT_DIGEST, artifactHash: ARTIFACT_HASH });
    expect(seen[0]?.headerDigest).toBe(loaded.header_digest);
    expect(seen[0]?.detached).toEqual(utf8('bundle'));
    expect(loaded.verification.checks.at(-1)).toMatchObject({
      rule: 'signature',
      status: 'skipped',
    });
    expect(loaded.verification.signature).toMatchObject({ present: false, valid: false });
    const legacy = await verifyOnLoad(
      { kind: 'legacy' },
      {
        mode: 'warn',
        requireHeader: false,
        verifier: { name: 'unused', verify: () => Promise.reject(new Error('not called')) },
      },
    );
    expect(legacy.verification.status).toBe('unverified');
  });

  it('aborts the verifier when its time runs out', async () => {
    let aborted = false;
    const loaded = await verifyOnLoad(makeCandidate(), {
      mode: 'warn',
      verifierTimeoutMs: 10,
      verifier: {
        name: 'slow',
        verify: (_s, options) =>
          new Promise((resolve) => {
            options?.signal?.addEventListener('abort', () => {
              aborted = true;
              setTimeout(() => resolve({ present: true, valid: true }), 5);
            });
          }),
      },
    });
    expect(aborted).toBe(true);
    expect(loaded.verification.reasons[0]?.message).toContain('longer than 10 ms');
  });

  it('stops with PLB_ABORTED when the caller aborts', async () => {
    const controller = new AbortController();
    controller.abort();
    await expect(
      verifyOnLoad(makeCandidate(), { mode: 'warn' }, { signal: controller.signal }),
    ).rejects.toMatchObject({
      code: 'PLB_ABORTED',
    });
    const during = new AbortController();
    const pending = verifyOnLoad(
      makeCandidate(),
      {
        mode: 'enforce',
        verifier: {
          name: 'waits',
          verify: (_s, options) =>
            new Promise((_resolve, reject) =>
              options?.signal?.addEventListener('abort', () => reject(new Error('aborted'))),
            ),
        },
      },
      { signal: during.signal },
    );
    during.abort();
    await expect(pending).rejects.toMatchObject({ code: 'PLB_ABORTED' });
  });

  it('rejects malformed policies in every mode', async () => {
    const bad = [
      { mode: 'strict' },
      { mode: 'warn', builtNotBefore: 'last tuesday' },
      { mode: 'warn', builtNotBefore: new Date('nope') },
      { mode: 'warn', builtNotBefore: 5 },
      { mode: 'off', requireSignature: true },
      { mode: 'warn', verifierTimeoutMs: 0 },
      { mode: 'warn', allowedSources: [''] },
      { mode: 'warn', allowedSources: 'github.com/acme' },
      { mode: 'warn', verifier: { name: 'x' } },
    ];
    for (const policy of bad) {
      await expect(verifyOnLoad(makeCandidate(), policy as never)).rejects.toMatchObject({
        code: 'PLB_VERIFY_POLICY_INVALID',
      });
    }
    await expect(verifyOnLoad(makeCandidate(), null as never)).rejects.toMatchObject({
      code: 'PLB_VERIFY_POLICY_INVALID',
    });
  });

  it('never lets an audit hook break a load', async () => {
    const loaded = await verifyOnLoad(
      makeCandidate(),
      { mode: 'enforce' },
      {
        onAudit: () => {
          throw new Error('sink down');
        },
      },
    );
    expect(loaded.verification.status).toBe('verified');
    await expect(
      verifyOnLoad(
        makeCandidate({ payload: utf8('x') }),
        { mode: 'enforce' },
        {
          onAudit: () => {
            throw new Error('sink down');
          },
        },
      ),
    ).rejects.toMatchObject({ code: 'PLB_LOAD_REJECTED' });
  });
});

describe('policy helpers', () => {
  it('matches sources exactly or under a /* prefix', () => {
    expect(sourceAllowed('github.com/acme/a', ['github.com/acme/*'])).toBe(true);
    expect(sourceAllowed('github.com/acme/', ['github.com/acme/*'])).toBe(false);
    expect(sourceAllowed('github.com/acmeevil/a', ['github.com/acme/*'])).toBe(false);
    expect(sourceAllowed('github.com/acme/a', ['github.com/acme/a'])).toBe(true);
    expect(sourceAllowed('github.com/acme/a/b', ['github.com/acme/a'])).toBe(false);
  });

  it('parses RFC 3339 and refuses everything else', () => {
    expect(parseRfc3339('2026-01-02T03:04:05Z')).toBe(Date.UTC(2026, 0, 2, 3, 4, 5));
    expect(parseRfc3339('2026-01-02T03:04:05.5+01:00')).toBe(Date.UTC(2026, 0, 2, 2, 4, 5, 500));
    for (const bad of [
      '2026-13-01T00:00:00Z',
      '2026-01-01',
      '2026-01-01T25:00:00Z',
      '2026-02-31T00:00:00Z x',
    ]) {
      expect(parseRfc3339(bad)).toBeUndefined();
    }
    fc.assert(
      fc.property(
        fc.date({ min: new Date(0), max: new Date('9999-12-31T23:59:59Z'), noInvalidDate: true }),
        (d) => {
          expect(parseRfc3339(d.toISOString())).toBe(d.getTime());
        },
      ),
    );
    fc.assert(
      fc.property(fc.string({ maxLength: 40 }), (s) => {
        const parsed = parseRfc3339(s);
        expect(parsed === undefined || Number.isFinite(parsed)).toBe(true);
      }),
    );
  });
});

describe('LoadedArtifactRegistry', () => {
  it('keeps one record per worker and a consistent snapshot', async () => {
    const registry = new LoadedArtifactRegistry({ instanceId: 'inst-9' });
    expect(registry.snapshot()).toMatchObject({
      current: undefined,
      artifact_hash: null,
      workers: [],
      loaded_at: null,
    });
    const seen: number[] = [];
    const unsubscribe = registry.subscribe((s) => seen.push(s.version));
    registry.subscribe(() => {
      throw new Error('listener bug');
    });
    const a = await verifyOnLoad(
      makeCandidate(),
      { mode: 'enforce' },
      { registry, workerId: 'w2', now: fixed },
    );
    const b = await verifyOnLoad(
      { kind: 'legacy' },
      { mode: 'warn' },
      { registry, workerId: 'w1' },
    );
    expect(a.instance_id).toBe('inst-9');
    const snap = registry.snapshot();
    expect(snap).toBe(registry.snapshot());
    expect(snap.current).toBe(b);
    expect(snap.workers.map((w) => [w.id, w.artifact_hash, w.verification_status])).toEqual([
      ['w1', null, 'warned'],
      ['w2', ARTIFACT_HASH, 'verified'],
    ]);
    registry.set(a);
    expect(registry.snapshot().current).toBe(a);
    expect(registry.snapshot()).toMatchObject({
      artifact_hash: ARTIFACT_HASH,
      instance_id: 'inst-9',
    });
    expect(registry.get('w1')).toBe(b);
    expect(registry.removeWorker('w1')).toBe(true);
    expect(registry.removeWorker('w1')).toBe(false);
    expect(registry.snapshot().workers.map((w) => w.id)).toEqual(['w2']);
    unsubscribe();
    const count = seen.length;
    registry.removeWorker('w2');
    expect(seen.length).toBe(count);
    expect(seen).toEqual([1, 2, 3, 4]);
  });

  it('falls back to the last registered worker and clears a load error on success', async () => {
    const registry = new LoadedArtifactRegistry();
    await verifyOnLoad(
      makeCandidate({ payload: utf8('bad') }),
      { mode: 'enforce' },
      { registry },
    ).catch(() => undefined);
    expect(registry.snapshot().last_load_error).toMatchObject({
      artifact_hash: ARTIFACT_HASH,
      code: 'PLB_LOAD_REJECTED',
    });
    const loaded = await verifyOnLoad(
      makeCandidate(),
      { mode: 'enforce' },
      { registry, workerId: 'a' },
    );
    expect(registry.lastLoadError).toBeUndefined();
    await verifyOnLoad(makeCandidate(), { mode: 'enforce' }, { registry, workerId: 'b' });
    registry.removeWorker('b');
    expect(registry.snapshot().current).toBe(loaded);
    registry.recordLoadError({
      artifact_hash: formatDigest(sha256(utf8('other'))),
      code: 'PLB_X',
      message: 'm',
      at: 't',
    });
    registry.set(loaded, { workerId: 'a' });
    expect(registry.lastLoadError?.code).toBe('PLB_X');
  });

  it('limits workers and worker ids', async () => {
    const registry = new LoadedArtifactRegistry({ maxWorkers: 1 });
    const loaded = await verifyOnLoad(makeCandidate(), { mode: 'off' });
    registry.set(loaded, { workerId: 'one' });
    registry.set(loaded, { workerId: 'one' });
    expect(() => registry.set(loaded, { workerId: 'two' })).toThrow(
      expect.objectContaining({ code: 'PLB_VERIFY_REGISTRY_INVALID' }),
    );
    expect(() => registry.set(loaded, { workerId: 'bad id/..' })).toThrow(
      expect.objectContaining({ code: 'PLB_VERIFY_REGISTRY_INVALID' }),
    );
    expect(() => new LoadedArtifactRegistry({ maxWorkers: 0 })).toThrow(
      expect.objectContaining({ code: 'PLB_VERIFY_REGISTRY_INVALID' }),
    );
  });
});
