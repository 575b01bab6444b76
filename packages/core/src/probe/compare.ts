import type { LiveConfigReport } from '../drift/protocol.js';
import { describeDifferences, DEFAULT_MAX_DIFFERENCES } from './differences.js';
import type { CanonicalConfig, LiveConfigProbe, ProbeResult } from './probe.js';

export type { LiveConfigReport } from '../drift/protocol.js';

/**
 * Turns a probe result and the canonical form of the artifact's payload (when the node knows it)
 * into the `live_config` a data plane reports: the live digest, the expected digest and, when
 * they differ, where (JSON pointers or normalised line numbers, never values). A failing probe
 * reports its code and no digest.
 *
 * @example
 * ```ts
 * const result = await probe.probe();
 * const report = compareLiveConfig(probe, result, probe.canonicalize(payload));
 * ```
 * @public
 */
export function compareLiveConfig(
  probe: Pick<LiveConfigProbe, 'kind'>,
  result: ProbeResult,
  expected: CanonicalConfig | null,
  maxDifferences: number = DEFAULT_MAX_DIFFERENCES,
): LiveConfigReport {
  const expected_digest = expected?.digest ?? null;
  if (result.status === 'failing') {
    return {
      probe: probe.kind,
      status: 'failing',
      digest: null,
      expected_digest,
      code: result.code,
      message: result.message.slice(0, 512),
      at: result.at,
    };
  }
  const differences =
    expected === null ? [] : describeDifferences(expected, result.config, maxDifferences);
  return {
    probe: probe.kind,
    status: result.status,
    digest: result.config.digest,
    expected_digest,
    ...(differences.length > 0 ? { differences } : {}),
    ...(result.status === 'reload_pending' ? { pending: result.pending?.length ?? 0 } : {}),
    at: result.at,
  };
}
