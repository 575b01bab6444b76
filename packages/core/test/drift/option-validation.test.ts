import { describe, expect, it } from 'vitest';
import { PlumblineError } from '@plumbline/core';
import {
  FleetMonitor,
  ManualClock,
  WebhookSink,
  createMemoryTransport,
  serveDrift,
} from '@plumbline/core/drift';
import { T0 } from './helpers.js';

/** The error `run` throws (or rejects with). */
async function errorOf(run: () => unknown): Promise<unknown> {
  try {
    await run();
  } catch (error) {
    return error;
  }
  return undefined;
}

function expectRefused(error: unknown, option: string, message: string): void {
  expect(PlumblineError.is(error, 'PLB_DRIFT_INVALID_OPTION'), String(error)).toBe(true);
  const e = error as PlumblineError;
  expect(e.message).toBe(message);
  expect(e.details).toEqual({ option });
}

describe('drift option checks (one rule: limitOption)', () => {
  it('refuses monitor options that are not positive numbers, and keeps fractional ones', async () => {
    for (const [options, option] of [
      [{ heartbeatIntervalMs: 0 }, 'heartbeatIntervalMs'],
      [{ staleAfterIntervals: -1 }, 'staleAfterIntervals'],
      [{ maxNodes: Number.NaN }, 'maxNodes'],
      [{ maxExpectedPerCluster: Infinity }, 'maxExpectedPerCluster'],
      [{ flapDamping: { threshold: 0 } }, 'flapDamping.threshold'],
      [{ flapDamping: { halfLifeMs: -5 } }, 'flapDamping.halfLifeMs'],
      [{ persistIntervalMs: Infinity }, 'persistIntervalMs'],
      [{ sinkFlushTimeoutMs: 0 }, 'sinkFlushTimeoutMs'],
    ] as const) {
      const error = await errorOf(() => FleetMonitor.create(options));
      expectRefused(error, option, `${option} must be a positive number`);
    }
    const monitor = await FleetMonitor.create({
      clock: new ManualClock(T0),
      heartbeatIntervalMs: 1500.5,
      staleAfterIntervals: 2.5,
    });
    expect(monitor.heartbeatIntervalMs).toBe(1500.5);
    await monitor.close();
  });

  it('refuses webhook sink counts that are not positive integers and durations that are not positive', async () => {
    const url = 'http://127.0.0.1:9/hook';
    for (const [extra, option, kind] of [
      [{ queueSize: 1.5 }, 'queueSize', 'integer'],
      [{ queueSize: 0 }, 'queueSize', 'integer'],
      [{ maxAttempts: -1 }, 'maxAttempts', 'integer'],
      [{ initialBackoffMs: 0 }, 'initialBackoffMs', 'number'],
      [{ maxBackoffMs: Number.NaN }, 'maxBackoffMs', 'number'],
      [{ timeoutMs: -1 }, 'timeoutMs', 'number'],
      [{ closeTimeoutMs: Infinity }, 'closeTimeoutMs', 'number'],
    ] as const) {
      const error = await errorOf(() => new WebhookSink({ url, secret: 's', ...extra }));
      expectRefused(error, option, `${option} must be a positive ${kind}`);
    }
    const sink = new WebhookSink({ url, secret: 's', timeoutMs: 250.5 });
    await sink.close();
  });

  it('refuses name-collision options that are not positive integers', async () => {
    const monitor = await FleetMonitor.create({ clock: new ManualClock(T0) });
    for (const [collision, option] of [
      [{ replacements: 0 }, 'collision.replacements'],
      [{ windowMs: 1.5 }, 'collision.windowMs'],
      [{ holdMs: -1 }, 'collision.holdMs'],
    ] as const) {
      const { transport } = createMemoryTransport({ tokens: {} });
      const error = await errorOf(() => serveDrift({ transport, monitor, collision }));
      expectRefused(error, option, `${option} must be a positive integer`);
    }
    await monitor.close();
  });
});
