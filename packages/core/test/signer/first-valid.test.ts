import { describe, expect, it } from 'vitest';
import { firstValidSignature, type SignatureSubject } from '@plumbline/core/signer';
import type { SignatureSource, SignatureVerdict } from '@plumbline/core/signer';

const bytes = (s: string): Uint8Array => new TextEncoder().encode(s);
const subject = (
  attachments: Record<string, Uint8Array>,
  detached?: Uint8Array,
): SignatureSubject =>
  ({ attachments, ...(detached ? { detached } : {}) }) as unknown as SignatureSubject;

describe('firstValidSignature', () => {
  it('looks at the named attachments in order, then the detached bundle, and stops at the first valid one', async () => {
    const seen: string[] = [];
    const verdict = await firstValidSignature(
      subject({ b: bytes('B'), a: bytes('A'), ignored: bytes('X') }, bytes('D')),
      ['a', 'b'],
      async (doc, source) => {
        seen.push(`${new TextDecoder().decode(doc)}:${source.kind}`);
        return { present: true, valid: seen.length === 2, source };
      },
    );
    expect(seen).toEqual(['A:attachment', 'B:attachment']);
    expect(verdict).toEqual({
      present: true,
      valid: true,
      source: { kind: 'attachment', key: 'b' },
    });
  });

  it('returns the first verdict when none is valid, with the detached bundle checked last', async () => {
    const sources: SignatureSource[] = [];
    const verdict = await firstValidSignature(
      subject({ a: bytes('A') }, bytes('D')),
      ['a'],
      async (_doc, source): Promise<SignatureVerdict> => {
        sources.push(source);
        return {
          present: true,
          valid: false,
          code: 'PLB_SIGNATURE_INVALID',
          reason: `bad ${source.kind}`,
        };
      },
    );
    expect(sources).toEqual([{ kind: 'attachment', key: 'a' }, { kind: 'detached' }]);
    expect(verdict.reason).toBe('bad attachment');
  });

  it('reports a missing signature without calling the check', async () => {
    let calls = 0;
    const verdict = await firstValidSignature(subject({ other: bytes('X') }), ['a'], async () => {
      calls++;
      return { present: true, valid: true };
    });
    expect(calls).toBe(0);
    expect(verdict).toMatchObject({ present: false, valid: false, code: 'PLB_SIGNATURE_MISSING' });
  });

  it('stops with PLB_ABORTED when the signal aborts', async () => {
    const controller = new AbortController();
    controller.abort(new Error('stop'));
    await expect(
      firstValidSignature(
        subject({ a: bytes('A') }),
        ['a'],
        async () => ({ present: true, valid: true }),
        controller.signal,
      ),
    ).rejects.toMatchObject({ code: 'PLB_ABORTED' });
  });
});
