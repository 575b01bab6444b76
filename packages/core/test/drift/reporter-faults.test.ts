/**
 * The data-plane reporter survives a misbehaving channel (integrator code): a connect that never
 * settles, returns no promise or no connection, a connection whose close throws, a close reported
 * twice, frames after close. It keeps a coded state, reconnects with backoff, and never lets an
 * error escape (thrown or as an unhandled rejection).
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  DataPlaneReporter,
  ManualClock,
  type DriftChannel,
  type DriftConnection,
  type DriftConnectionHandler,
} from '@plumbline/core/drift';
import { T0, settle } from './helpers.js';

const WELCOME = JSON.stringify({
  type: 'welcome',
  protocol: 'plumbline.drift/v1',
  heartbeat_interval_ms: 1000,
  server_time: '2026-01-01T00:00:00Z',
});

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

function reporterOver(channel: DriftChannel, clock: ManualClock): DataPlaneReporter {
  return new DataPlaneReporter({
    channel,
    node_id: 'gw-1',
    cluster: 'prod',
    clock,
    random: () => 0.5,
    welcomeTimeoutMs: 2000,
    backoff: { initialMs: 100, maxMs: 1000 },
  });
}

function connection(sent: string[] = []): DriftConnection {
  return { send: (text) => sent.push(text), close: () => undefined };
}

describe('DataPlaneReporter against a misbehaving channel', () => {
  it('gives up on a connect that never settles, aborts it, and retries with backoff', async () => {
    const clock = new ManualClock(T0);
    const signals: AbortSignal[] = [];
    const opens: ((c: DriftConnection) => void)[] = [];
    const channel: DriftChannel = {
      connect: (_handler, signal) => {
        signals.push(signal!);
        return new Promise((resolve) => opens.push(resolve));
      },
    };
    const reporter = reporterOver(channel, clock);
    reporter.start();
    await settle();
    expect(reporter.status).toBe('connecting');
    clock.advance(2000);
    await settle();
    expect(signals[0]!.aborted).toBe(true);
    expect(reporter.stats()).toMatchObject({
      status: 'backoff',
      lastErrorCode: 'PLB_DRIFT_CONNECT',
      failures: 1,
    });
    // The abandoned attempt opening late is closed, not taken for the current one.
    const closes: number[] = [];
    opens[0]!({ send: () => undefined, close: (code) => closes.push(code ?? 1000) });
    await settle();
    expect(closes).toEqual([1001]);
    expect(reporter.status).toBe('backoff');
    clock.advance(1000);
    await settle();
    expect(signals).toHaveLength(2);
    await reporter.close();
  });

  it('treats a connect that returns no promise as a transport fault, without throwing', async () => {
    const clock = new ManualClock(T0);
    let attempts = 0;
    const channel = {
      connect: () => {
        attempts++;
        return undefined;
      },
    } as unknown as DriftChannel;
    const reporter = reporterOver(channel, clock);
    expect(() => reporter.start()).not.toThrow();
    await settle();
    expect(reporter.stats()).toMatchObject({
      status: 'backoff',
      lastErrorCode: 'PLB_DRIFT_TRANSPORT_FAULT',
      failures: 1,
    });
    clock.advance(1000);
    await settle();
    expect(attempts).toBe(2);
    await reporter.close();
    expect(unhandled).toEqual([]);
  });

  it('treats a connect that resolves without a connection as a transport fault', async () => {
    const clock = new ManualClock(T0);
    for (const missing of [undefined, null, {}, { send: () => undefined }]) {
      const channel = {
        connect: () => Promise.resolve(missing),
      } as unknown as DriftChannel;
      const reporter = reporterOver(channel, clock);
      reporter.start();
      await settle();
      expect(reporter.stats()).toMatchObject({
        status: 'backoff',
        lastErrorCode: 'PLB_DRIFT_TRANSPORT_FAULT',
        failures: 1,
      });
      await reporter.close();
    }
    expect(unhandled).toEqual([]);
  });

  it('survives a connection that opens after close and throws when closed', async () => {
    const clock = new ManualClock(T0);
    let open: (c: DriftConnection) => void = () => undefined;
    const channel: DriftChannel = {
      connect: () => new Promise((resolve) => (open = resolve)),
    };
    const reporter = reporterOver(channel, clock);
    reporter.start();
    await reporter.close();
    open({
      send: () => undefined,
      close: () => {
        throw new Error('already gone');
      },
    });
    await settle();
    await new Promise((resolve) => setTimeout(resolve, 10));
    expect(unhandled).toEqual([]);
    expect(reporter.stats()).toMatchObject({ status: 'closed', caught: 1 });
  });

  it('counts a close reported twice once, and ignores frames after close', async () => {
    const clock = new ManualClock(T0);
    let handler: DriftConnectionHandler | undefined;
    let attempts = 0;
    const sent: string[] = [];
    const channel: DriftChannel = {
      connect: (h) => {
        attempts++;
        handler = h;
        return Promise.resolve(connection(sent));
      },
    };
    const reporter = reporterOver(channel, clock);
    reporter.start();
    await settle();
    handler!.onMessage(WELCOME);
    expect(reporter.stats()).toMatchObject({ status: 'connected', sessions: 1 });
    handler!.onClose(1006, 'gone');
    handler!.onClose(1006, 'gone');
    handler!.onMessage(WELCOME);
    expect(reporter.stats()).toMatchObject({ status: 'backoff', sessions: 1, lastCloseCode: 1006 });
    clock.advance(1000);
    await settle();
    expect(attempts).toBe(2);
    await reporter.close();
    handler!.onMessage(WELCOME);
    handler!.onClose(1000, 'late');
    expect(reporter.stats()).toMatchObject({ status: 'closed', sessions: 1 });
    expect(unhandled).toEqual([]);
  });
});
