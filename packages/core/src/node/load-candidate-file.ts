import { open } from 'node:fs/promises';
import { PlumblineError } from '../errors.js';
import { candidateFromBytes, type CandidateFromBytesOptions } from '../verify/candidate.js';
import type { LoadCandidate, LoadPolicy } from '../verify/types.js';
import { loadVerified, type VerifiedLoad } from '../verify/load-verified.js';
import type { VerifyOnLoadOptions } from '../verify/verify-on-load.js';

/**
 * Options of {@link readLoadCandidate}.
 *
 * @public
 */
export interface ReadLoadCandidateOptions extends Omit<CandidateFromBytesOptions, 'detached'> {
  /** Largest artifact file read into memory. Default 512 MiB. */
  readonly maxFileBytes?: number;
  /** A detached bundle file to read alongside (for example `<artifact>.sigstore.json`); optional if missing. */
  readonly detachedPath?: string;
  /** Largest detached bundle. Default 1 MiB. */
  readonly maxDetachedBytes?: number;
}

async function readLimited(
  path: string,
  limit: number,
  optional: boolean,
): Promise<Uint8Array | undefined> {
  let handle;
  try {
    handle = await open(path, 'r');
  } catch (error) {
    if (optional && (error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new PlumblineError('PLB_IO', `cannot open ${path}`, {
      cause: error,
      details: { path, errno: (error as NodeJS.ErrnoException).code },
    });
  }
  try {
    const { size } = await handle.stat();
    if (size > limit) {
      throw new PlumblineError(
        'PLB_LIMIT_FILE_SIZE',
        `${path} is ${size} bytes, more than the limit of ${limit}`,
        {
          details: { path, size, limit },
        },
      );
    }
    const bytes = new Uint8Array(size);
    let offset = 0;
    while (offset < size) {
      const { bytesRead } = await handle.read(bytes, offset, size - offset, offset);
      if (bytesRead === 0) break;
      offset += bytesRead;
    }
    return offset === size ? bytes : bytes.subarray(0, offset);
  } finally {
    await handle.close();
  }
}

/**
 * Reads an artifact file (and optionally its detached bundle) into a load candidate for
 * `verifyOnLoad`; the candidate's `payload` holds the bytes the gateway loads.
 *
 * @example
 * ```ts
 * import { readLoadCandidate } from '@plumbline/core/node';
 * import { verifyOnLoad } from '@plumbline/core/verify';
 * const candidate = await readLoadCandidate('gateway.plb');
 * await verifyOnLoad(candidate, { mode: 'enforce' }, { registry });
 * ```
 * @throws {@link PlumblineError} `PLB_IO` when the file cannot be read, `PLB_LIMIT_FILE_SIZE` when
 * it is larger than `maxFileBytes`, `PLB_ABORTED`.
 * @public
 */
export async function readLoadCandidate(
  path: string,
  options: ReadLoadCandidateOptions = {},
): Promise<LoadCandidate> {
  const bytes = (await readLimited(path, options.maxFileBytes ?? 512 * 1024 * 1024, false))!;
  const detached =
    options.detachedPath === undefined
      ? undefined
      : await readLimited(options.detachedPath, options.maxDetachedBytes ?? 1024 * 1024, true);
  const { maxFileBytes: _m, detachedPath: _d, maxDetachedBytes: _x, ...rest } = options;
  return candidateFromBytes(bytes, { ...rest, ...(detached === undefined ? {} : { detached }) });
}

/**
 * Options of {@link loadVerifiedFile}: how to read the file, and {@link VerifyOnLoadOptions}.
 *
 * @public
 */
export type LoadVerifiedFileOptions = ReadLoadCandidateOptions & VerifyOnLoadOptions;

/**
 * Reads an artifact file, verifies it under the policy with `verifyOnLoad`, and returns the
 * payload to serve only then (see `loadVerified` of `@plumbline/core/verify`).
 *
 * @example
 * ```ts
 * import { loadVerifiedFile } from '@plumbline/core/node';
 * const { payload, artifactHash } = await loadVerifiedFile('/etc/gateway/gateway.plb', {
 *   mode: 'enforce',
 * });
 * startServing(payload);
 * ```
 * @throws {@link PlumblineError} as {@link readLoadCandidate} and `loadVerified`
 *   (`PLB_LOAD_REJECTED` under `enforce`, `PLB_PAYLOAD_UNAVAILABLE`).
 * @public
 */
export async function loadVerifiedFile(
  path: string,
  policy: LoadPolicy,
  options: LoadVerifiedFileOptions = {},
): Promise<VerifiedLoad> {
  const { registry, workerId, instanceId, now, onAudit, ...read } = options;
  const candidate = await readLoadCandidate(path, read);
  return loadVerified(candidate, policy, {
    ...(registry === undefined ? {} : { registry }),
    ...(workerId === undefined ? {} : { workerId }),
    ...(instanceId === undefined ? {} : { instanceId }),
    ...(now === undefined ? {} : { now }),
    ...(onAudit === undefined ? {} : { onAudit }),
    ...(options.signal === undefined ? {} : { signal: options.signal }),
  });
}
