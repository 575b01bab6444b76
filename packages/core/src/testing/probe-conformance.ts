import { PlumblineError } from '../errors.js';
import { formatDigest } from '../hash/digest.js';
import { sha256 } from '../hash/select.js';
import { canonicalJson, type JsonValue } from '../probe/jcs.js';
import type { LiveConfigProbe, ProbeResult } from '../probe/probe.js';
import { check, checkEqual, resolveApi, type ConformanceOptions } from './api.js';

/**
 * A live-configuration probe under test, over a real (or faithful) gateway, built by the factory
 * passed to {@link describeProbeConformance}.
 *
 * @public
 */
export interface ProbeHarness {
  /** The probe, pointed at a running gateway. */
  readonly probe: LiveConfigProbe;
  /** The artifact payload for what the gateway runs now (its configuration as it would be sealed). */
  payload(): Promise<Uint8Array>;
  /** Changes what the gateway runs, out of band (an admin-API call, or an edit and a reload). */
  change(): Promise<void>;
  /** Makes the gateway unreachable (stops it). */
  stop(): Promise<void>;
  /** Removes what the harness made. */
  dispose?(): Promise<void>;
}

/**
 * Builds a fresh harness for one test.
 *
 * @public
 */
export type ProbeFactory = () => Promise<ProbeHarness>;

const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;

function live(result: ProbeResult, what: string): Exclude<ProbeResult, { status: 'failing' }> {
  check(
    result.status !== 'failing',
    `${what}: the probe failed (${result.status === 'failing' ? result.code : ''})`,
  );
  return result as Exclude<ProbeResult, { status: 'failing' }>;
}

async function withHarness(factory: ProbeFactory, body: (h: ProbeHarness) => Promise<void>) {
  const harness = await factory();
  try {
    await body(harness);
  } finally {
    await harness.probe.close?.();
    await harness.dispose?.();
  }
}

/**
 * Registers the live-configuration probe conformance suite: the live digest is the SHA-256 of
 * the canonical bytes and equals the canonical digest of the matching artifact payload; it is
 * stable across calls and JSON forms are RFC 8785; an out-of-band change changes it; a stopped
 * gateway is a `failing` result with a `PLB_PROBE_*` code (never a throw, never a digest); an
 * aborted call settles; `canonicalize` throws only coded errors; results carry RFC 3339 times.
 *
 * @example
 * ```ts
 * import { describeProbeConformance } from '@plumbline/core/testing';
 * await describeProbeConformance('my gateway probe', async () => ({
 *   probe, payload: async () => readFile('config.json'), change: () => adminApi.load(next), stop: () => gateway.stop(),
 * }));
 * ```
 * @public
 */
export async function describeProbeConformance(
  name: string,
  factory: ProbeFactory,
  options: ConformanceOptions = {},
): Promise<void> {
  const timeout = options.timeoutMs ?? 10_000;
  const api = await resolveApi(options.api);
  api.describe(`live-config probe conformance: ${name}`, () => {
    api.it(
      'reports the digest of its canonical bytes, equal to the canonical payload',
      () =>
        withHarness(factory, async ({ probe, payload }) => {
          const first = live(await probe.probe(), 'first probe');
          checkEqual(
            first.config.digest,
            formatDigest(sha256(first.config.bytes)),
            'digest of the bytes',
          );
          const second = live(await probe.probe(), 'second probe');
          checkEqual(
            second.config.digest,
            first.config.digest,
            'a second probe of the same configuration',
          );
          checkEqual(
            probe.canonicalize(await payload()).digest,
            first.config.digest,
            'canonical payload digest',
          );
          check(RFC3339.test(first.at), `"at" is RFC 3339: ${first.at}`);
          if (first.config.format === 'json') {
            const text = new TextDecoder().decode(first.config.bytes);
            checkEqual(canonicalJson(JSON.parse(text) as JsonValue), text, 'RFC 8785 form');
          }
        }),
      timeout,
    );
    api.it(
      'sees an out-of-band change',
      () =>
        withHarness(factory, async (h) => {
          const before = live(await h.probe.probe(), 'before the change');
          await h.change();
          const after = live(await h.probe.probe(), 'after the change');
          check(
            after.config.digest !== before.config.digest,
            'the digest changed with the configuration',
          );
        }),
      timeout,
    );
    api.it(
      'reports a stopped gateway as failing with a PLB_PROBE_ code, never a throw',
      () =>
        withHarness(factory, async (h) => {
          await h.stop();
          const result = await h.probe.probe();
          check(result.status === 'failing', `a stopped gateway is failing, got ${result.status}`);
          check(result.code.startsWith('PLB_PROBE_'), `a PLB_PROBE_ code, got ${result.code}`);
          check(!('config' in result), 'a failing result carries no configuration');
          check(RFC3339.test(result.at), '"at" is RFC 3339');
        }),
      timeout,
    );
    api.it(
      'settles an aborted call without throwing',
      () =>
        withHarness(factory, async ({ probe }) => {
          const controller = new AbortController();
          controller.abort();
          const result = await probe.probe(controller.signal);
          check(['ok', 'reload_pending', 'failing'].includes(result.status), 'a result');
        }),
      timeout,
    );
    api.it(
      'canonicalize throws only coded errors on garbage',
      () =>
        withHarness(factory, async ({ probe }) => {
          for (const bytes of [
            new Uint8Array([0xff, 0xfe, 0x7b]),
            new TextEncoder().encode('{"a":'),
            new Uint8Array(0),
          ]) {
            try {
              probe.canonicalize(bytes);
            } catch (error) {
              check(PlumblineError.is(error), `canonicalize threw an uncoded ${String(error)}`);
            }
          }
        }),
      timeout,
    );
  });
}
