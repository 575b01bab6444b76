/**
 * The live-configuration watch survives a misbehaving probe (integrator code): a result of the
 * wrong shape is a failing probe (PLB_PROBE_FAILED), never an unhandled rejection, and a probe
 * whose close throws does not make the watch's close reject.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { canonicalizeJson, watchLiveConfig, type LiveConfigProbe } from '@plumbline/core/probe';

let unhandled: unknown[] = [];
const onUnhandled = (reason: unknown): void => {
  unhandled.push(reason);
};
beforeEach(() => {
  unhandled = [];
  process.on('unhandledRejection', onUnhandled);
});
afterEach(() => {
  process.off('unhandledRejection', onUnhandled);
});

function probeAnswering(answer: unknown): LiveConfigProbe {
  return {
    kind: 'custom',
    target: 'test',
    probe: () => Promise.resolve(answer as never),
    canonicalize: (payload) => canonicalizeJson(payload),
    close: () => Promise.reject(new Error('close bug')),
  };
}

describe('watchLiveConfig with a misbehaving probe', () => {
  for (const [name, answer] of [
    ['no result', undefined],
    ['null', null],
    ['in sync without a config', { status: 'in_sync', at: '2026-01-01T00:00:00Z' }],
    ['failing without a message', { status: 'failing', code: 'PLB_PROBE_FAILED' }],
  ] as const) {
    it(`reports ${name} as a failing probe and closes cleanly`, async () => {
      const watch = watchLiveConfig({
        probe: probeAnswering(answer),
        expected: () => null,
        intervalMs: 60_000,
      });
      const report = await watch.check();
      expect(report).toMatchObject({
        probe: 'custom',
        status: 'failing',
        code: 'PLB_PROBE_FAILED',
      });
      expect(watch.current()).toEqual(report);
      await expect(watch.close()).resolves.toBeUndefined();
      await new Promise((resolve) => setTimeout(resolve, 10));
      expect(unhandled).toEqual([]);
    });
  }
});
