/**
 * The named rules of the Barbacane transport's translation, one home each: which node a
 * `register` is, what a `heartbeat` reports, and which close a session reports.
 *
 * @packageDocumentation
 */
import type { DigestString } from '@plumbline/core/hash';
import type { BarbacaneCredential } from './credentials.js';
import type { BarbacaneHeartbeat } from './protocol.js';

/** `sha256:` and 64 lowercase hex. @internal */
export const DIGEST = /^sha256:[0-9a-f]{64}$/;

/**
 * What a heartbeat reports: a hash, no artifact (`null`), nothing new (`undefined`), or an
 * invalid hash. @internal
 */
export type HeartbeatReport = DigestString | null | undefined | { readonly invalid: string };

/** @internal The rules the transport is built from. */
export interface BarbacaneTransportSteps {
  /**
   * The node a `register` authenticated by `credential` is: a bound key is its node (a
   * different name is only a claim); a project key names its node by `name`.
   */
  nodeOf(credential: BarbacaneCredential, name: string | undefined): string | undefined;
  /** What a heartbeat reports; `resolve` maps an `artifact_id` to its hash. */
  reportOf(
    heartbeat: BarbacaneHeartbeat,
    resolve: (artifact_id: string) => DigestString | undefined,
  ): HeartbeatReport;
  /** The close a session reports: the peer's code and reason, or the limit that closed it. */
  closeOf(
    code: number,
    reason: string,
    limitCode: number | null,
  ): { readonly code: number; readonly reason: string };
}

/** @internal The transport's rules. */
export const BARBACANE_STEPS: BarbacaneTransportSteps = {
  nodeOf: (credential, name) => credential.node ?? name,
  reportOf(heartbeat, resolve) {
    const hash = heartbeat.artifact_hash;
    if (hash === null) return null;
    if (hash !== undefined) {
      return DIGEST.test(hash) ? (hash as DigestString) : { invalid: 'artifact_hash' };
    }
    // Barbacane's own heartbeat names its artifact by id, or not at all: then the last report
    // stands (a heartbeat without one is not a report of none).
    if (heartbeat.artifact_id === undefined || heartbeat.artifact_id === null) return undefined;
    const resolved = resolve(heartbeat.artifact_id.toLowerCase());
    return resolved !== undefined && DIGEST.test(resolved) ? resolved : undefined;
  },
  closeOf: (code, reason, limitCode) => ({ code: limitCode ?? code, reason }),
};
