import { limitOption } from '../limit-option.js';
import type { LiveConfigReport } from '../drift/protocol.js';
import { compareLiveConfig } from './compare.js';
import type { CanonicalConfig, LiveConfigProbe, ProbeResult } from './probe.js';

/**
 * Options of {@link watchLiveConfig}.
 *
 * @public
 */
export interface WatchLiveConfigOptions {
  /** The probe. */
  readonly probe: LiveConfigProbe;
  /**
   * The canonical form of what the gateway should run (its artifact's payload through
   * `probe.canonicalize`), or `null` when unknown; read at every probe.
   */
  readonly expected: () => CanonicalConfig | null;
  /** How often the probe runs, in milliseconds. Default 5,000 (one heartbeat interval). */
  readonly intervalMs?: number;
  /** Called when the report changes in anything but its time (status, digests, differences, code). */
  readonly onChange?: (report: LiveConfigReport) => void;
}

/**
 * A running live-configuration watch.
 *
 * @public
 */
export interface LiveConfigWatch {
  /** The latest report, or `null` before the first probe finished. */
  current(): LiveConfigReport | null;
  /** Probes now (a probe already running is awaited instead) and returns the report. */
  check(): Promise<LiveConfigReport>;
  /** Stops the timer and aborts a running probe. Idempotent. */
  close(): Promise<void>;
}

function sameFacts(a: LiveConfigReport | null, b: LiveConfigReport): boolean {
  if (a === null) return false;
  const { at: _a, ...x } = a;
  const { at: _b, ...y } = b;
  return JSON.stringify(x) === JSON.stringify(y);
}

/**
 * Runs a probe now and then every `intervalMs`, keeping the latest `live_config` report for a
 * data-plane reporter's state and calling `onChange` when its facts change (so the reporter can
 * send a heartbeat at once instead of waiting for the next one).
 *
 * @example
 * ```ts
 * const watch = watchLiveConfig({
 *   probe, expected: () => probe.canonicalize(payload),
 *   onChange: () => reporter.report({ ...state(), live_config: watch.current() }),
 * });
 * await watch.check();
 * ```
 * @throws {@link PlumblineError} `PLB_PROBE_INVALID_OPTION` for an interval that is not a
 *   positive integer.
 * @public
 */
export function watchLiveConfig(options: WatchLiveConfigOptions): LiveConfigWatch {
  const intervalMs = limitOption(options.intervalMs, {
    name: 'intervalMs',
    code: 'PLB_PROBE_INVALID_OPTION',
    fallback: 5000,
  });
  let latest: LiveConfigReport | null = null;
  let running: Promise<LiveConfigReport> | undefined;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let closed = false;
  const abort = new AbortController();

  const run = async (): Promise<LiveConfigReport> => {
    let result: ProbeResult;
    try {
      result = await options.probe.probe(abort.signal);
    } catch {
      // A probe breaking its contract (it must not throw) is a failing probe, never in sync.
      result = broken('the probe threw instead of returning a result');
    }
    let expected: CanonicalConfig | null;
    try {
      expected = options.expected();
    } catch {
      expected = null;
    }
    let report: LiveConfigReport;
    try {
      report = compareLiveConfig(options.probe, result, expected);
    } catch {
      // A result of the wrong shape (no status, no config, no message) is a failing probe too.
      report = compareLiveConfig(
        options.probe,
        broken('the probe returned a malformed result'),
        expected,
      );
    }
    const changed = !sameFacts(latest, report);
    latest = report;
    if (changed && !closed) {
      try {
        options.onChange?.(report);
      } catch {
        // never throw into the host
      }
    }
    return report;
  };
  // Fixed rate: a probe starts every intervalMs (not intervalMs after the last one ended), so a
  // change is seen within one interval plus one probe's duration.
  let startedAt = Date.now();
  const schedule = (): void => {
    if (closed) return;
    const wait = Math.max(0, startedAt + intervalMs - Date.now());
    timer = setTimeout(() => {
      startedAt = Date.now();
      void check().finally(schedule);
    }, wait);
  };
  const check = (): Promise<LiveConfigReport> => {
    running ??= run().finally(() => {
      running = undefined;
    });
    return running;
  };
  void check().finally(schedule);
  return {
    current: () => latest,
    check,
    async close() {
      if (closed) return;
      closed = true;
      if (timer !== undefined) clearTimeout(timer);
      abort.abort();
      await running?.catch(() => undefined);
      try {
        await options.probe.close?.();
      } catch {
        // The probe's own cleanup failing must not make closing the watch fail.
      }
    },
  };
}

/** A failing result standing in for a probe that broke its contract. */
function broken(message: string): ProbeResult {
  return { status: 'failing', code: 'PLB_PROBE_FAILED', message, at: new Date().toISOString() };
}
