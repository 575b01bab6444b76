import { PlumblineError } from '../errors.js';
import { limitOption } from '../limit-option.js';
import type { Verifier } from '../signer/types.js';
import type { LoadMode, LoadPolicy } from './types.js';

const MODES: readonly LoadMode[] = ['off', 'warn', 'enforce'];
const RFC3339_RE =
  /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(\.\d{1,9})?([Zz]|[+-]\d{2}:\d{2})$/;

/** Default time a verifier may take. @public */
export const DEFAULT_VERIFIER_TIMEOUT_MS = 30_000;

/**
 * A load policy with every default applied and every value checked.
 *
 * @internal
 */
export interface ResolvedPolicy {
  readonly mode: LoadMode;
  readonly requireHeader: boolean;
  readonly checkPayloadDigest: boolean;
  readonly requireCommit: boolean;
  readonly allowedSources: readonly string[] | undefined;
  readonly builtNotBefore: number | undefined;
  readonly requireSignature: boolean;
  readonly verifier: Verifier | undefined;
  readonly verifierTimeoutMs: number;
}

/**
 * Parses an RFC 3339 timestamp into epoch milliseconds, or `undefined` when it is not one.
 *
 * @internal
 */
export function parseRfc3339(value: string): number | undefined {
  const match = RFC3339_RE.exec(value);
  if (!match) return undefined;
  const [, , month, day, hour, minute, second] = match.map(Number) as number[];
  if (
    month! < 1 ||
    month! > 12 ||
    day! < 1 ||
    day! > 31 ||
    hour! > 23 ||
    minute! > 59 ||
    second! > 60
  ) {
    return undefined;
  }
  const ms = Date.parse(value.toUpperCase());
  return Number.isNaN(ms) ? undefined : ms;
}

function invalid(message: string): PlumblineError {
  return new PlumblineError('PLB_VERIFY_POLICY_INVALID', message);
}

/**
 * Checks a policy and applies defaults.
 *
 * @throws {@link PlumblineError} `PLB_VERIFY_POLICY_INVALID` for an unknown mode, a malformed time,
 * a required signature without a verifier, or a non-positive timeout.
 * @internal
 */
export function resolvePolicy(policy: LoadPolicy): ResolvedPolicy {
  if (typeof policy !== 'object' || policy === null) throw invalid('a load policy is an object');
  if (!MODES.includes(policy.mode)) {
    throw invalid(`load policy mode must be one of ${MODES.join(', ')}`);
  }
  let builtNotBefore: number | undefined;
  if (policy.builtNotBefore !== undefined) {
    if (policy.builtNotBefore instanceof Date) {
      builtNotBefore = policy.builtNotBefore.getTime();
      if (Number.isNaN(builtNotBefore)) throw invalid('builtNotBefore is an invalid Date');
    } else {
      builtNotBefore =
        typeof policy.builtNotBefore === 'string' ? parseRfc3339(policy.builtNotBefore) : undefined;
      if (builtNotBefore === undefined) throw invalid('builtNotBefore must be an RFC 3339 time');
    }
  }
  if (policy.allowedSources !== undefined) {
    if (
      !Array.isArray(policy.allowedSources) ||
      policy.allowedSources.some((s) => typeof s !== 'string' || s.length === 0)
    ) {
      throw invalid('allowedSources must be a list of non-empty strings');
    }
  }
  const timeout = limitOption(policy.verifierTimeoutMs, {
    name: 'verifierTimeoutMs',
    code: 'PLB_VERIFY_POLICY_INVALID',
    fallback: DEFAULT_VERIFIER_TIMEOUT_MS,
    integer: false,
  });
  if (policy.requireSignature === true && policy.verifier === undefined) {
    throw invalid('requireSignature needs a verifier');
  }
  if (policy.verifier !== undefined && typeof policy.verifier.verify !== 'function') {
    throw invalid('verifier must implement verify()');
  }
  return {
    mode: policy.mode,
    requireHeader: policy.requireHeader ?? true,
    checkPayloadDigest: policy.checkPayloadDigest ?? true,
    requireCommit: policy.requireCommit ?? false,
    allowedSources: policy.allowedSources,
    builtNotBefore,
    requireSignature: policy.requireSignature ?? false,
    verifier: policy.verifier,
    verifierTimeoutMs: timeout,
  };
}

/**
 * Whether `source` is allowed by the list (exact match, or a `prefix/*` entry).
 *
 * @internal
 */
export function sourceAllowed(source: string, allowed: readonly string[]): boolean {
  for (const entry of allowed) {
    if (entry.endsWith('/*')) {
      const prefix = entry.slice(0, -1);
      if (source.startsWith(prefix) && source.length > prefix.length) return true;
    } else if (source === entry) {
      return true;
    }
  }
  return false;
}
