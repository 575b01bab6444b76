import { PlumblineError } from '@plumbline/core';
import {
  watchLiveConfig,
  type CanonicalConfig,
  type LiveConfigProbe,
  type LiveConfigWatch,
} from '@plumbline/core/probe';
import type { JsonLogger } from '../control-plane/log.js';

/** Options of {@link startLiveWatch}. @internal */
export interface LiveWatchOptions {
  readonly probe: LiveConfigProbe;
  /** The verified payload of the artifact on disk, or `null` when there is none. */
  readonly payload: () => Uint8Array | null;
  readonly logger: JsonLogger;
  readonly intervalMs: number;
  /** Called when the live report changes (the agent sends a heartbeat at once). */
  readonly onChange: () => void;
}

/**
 * The agent's live-configuration watch: the probe's report against the artifact payload's
 * canonical form (computed once per payload), logged when it changes.
 *
 * @internal
 */
export function startLiveWatch(options: LiveWatchOptions): LiveConfigWatch {
  const { probe, logger } = options;
  let memo: { payload: Uint8Array; config: CanonicalConfig | null } | undefined;
  const expected = (): CanonicalConfig | null => {
    const payload = options.payload();
    if (payload === null) return null;
    if (memo?.payload !== payload) {
      let config: CanonicalConfig | null = null;
      try {
        config = probe.canonicalize(payload);
      } catch (error) {
        logger.warn('the artifact payload is not a configuration the probe understands', {
          probe: probe.kind,
          code: PlumblineError.is(error) ? error.code : 'PLB_INTERNAL',
        });
      }
      memo = { payload, config };
    }
    return memo.config;
  };
  return watchLiveConfig({
    probe,
    expected,
    intervalMs: options.intervalMs,
    onChange: (report) => {
      const level = report.status === 'failing' ? 'warn' : 'info';
      logger[level]('live configuration', {
        probe: report.probe,
        status: report.status,
        digest: report.digest,
        expected_digest: report.expected_digest,
        ...(report.code === undefined ? {} : { code: report.code }),
        ...(report.differences === undefined ? {} : { differences: report.differences }),
      });
      options.onChange();
    },
  });
}
