import { PlumblineError } from '../errors.js';
import type { SignatureSubject, SignatureVerdict } from './types.js';

/**
 * Where a signature document was found on an artifact: a container attachment (by key) or the
 * detached bundle beside it.
 *
 * @public
 */
export type SignatureSource = NonNullable<SignatureVerdict['source']>;

/**
 * Checks every signature document an artifact carries — the attachments named by
 * `attachmentKeys`, in that order, then the detached bundle — and returns the first valid verdict,
 * else the first verdict, else `PLB_SIGNATURE_MISSING` when there is none. A {@link Verifier}
 * implementation calls it with its own `check` of one document, so all verifiers agree on which
 * documents count and in what order.
 *
 * @example
 * ```ts
 * import { firstValidSignature, type SignatureSubject } from '@plumbline/core/signer';
 * declare const subject: SignatureSubject;
 * const verdict = await firstValidSignature(subject, ['dev.plumbline.sigstore.bundle'], async () => ({
 *   present: true,
 *   valid: false,
 *   code: 'PLB_SIGNATURE_INVALID',
 *   reason: 'no trusted key signed it',
 * }));
 * ```
 * @throws {@link PlumblineError} `PLB_ABORTED` when `signal` aborts between documents.
 * @public
 */
export async function firstValidSignature(
  subject: SignatureSubject,
  attachmentKeys: readonly string[],
  check: (bytes: Uint8Array, source: SignatureSource) => Promise<SignatureVerdict>,
  signal?: AbortSignal,
): Promise<SignatureVerdict> {
  const found: { bytes: Uint8Array; source: SignatureSource }[] = [];
  for (const key of attachmentKeys) {
    const bytes = subject.attachments[key];
    if (bytes !== undefined) found.push({ bytes, source: { kind: 'attachment', key } });
  }
  if (subject.detached !== undefined)
    found.push({ bytes: subject.detached, source: { kind: 'detached' } });
  if (found.length === 0) {
    return {
      present: false,
      valid: false,
      code: 'PLB_SIGNATURE_MISSING',
      reason: 'the artifact has no signature (no bundle attached or beside it)',
    };
  }
  let first: SignatureVerdict | undefined;
  for (const { bytes, source } of found) {
    if (signal?.aborted)
      throw new PlumblineError('PLB_ABORTED', 'signature verification was aborted', {
        cause: signal.reason,
      });
    const verdict = await check(bytes, source);
    if (verdict.valid) return verdict;
    first ??= verdict;
  }
  return first!;
}
