/**
 * The fleet monitor survives a misbehaving alert sink (integrator code): a sink whose send,
 * stats or flush throws (synchronously, or flush returning no promise) neither stops the other
 * sinks nor the metrics collection nor the monitor's shutdown.
 */
import {
  createNoopMeter,
  type Attributes,
  type BatchObservableCallback,
  type Meter,
  type Observable,
} from '@opentelemetry/api';
import { describe, expect, it } from 'vitest';
import { DRIFT_METRICS, createLogSink, type AlertSink } from '@plumbline/core/drift';
import { A, B } from './helpers.js';
import { harness } from './monitor-harness.js';

function recordingMeter() {
  const names = new Map<Observable, string>();
  const callbacks = new Set<BatchObservableCallback>();
  const observable = (name: string): Observable => {
    const o: Observable = { addCallback() {}, removeCallback() {} };
    names.set(o, name);
    return o;
  };
  const meter: Meter = Object.assign(Object.create(createNoopMeter()) as Meter, {
    createObservableGauge: observable,
    createObservableCounter: observable,
    addBatchObservableCallback: (cb: BatchObservableCallback) => callbacks.add(cb),
    removeBatchObservableCallback: (cb: BatchObservableCallback) => callbacks.delete(cb),
  });
  const collect = () => {
    const observed: { name: string; value: number; attributes: Attributes }[] = [];
    for (const cb of callbacks) {
      void cb({
        observe: (o: Observable, value: number, attributes: Attributes = {}) =>
          observed.push({ name: names.get(o) as string, value, attributes }),
      });
    }
    return observed;
  };
  return { meter, collect };
}

const broken: AlertSink = {
  name: 'broken',
  send() {
    throw new Error('send bug');
  },
  flush() {
    throw new Error('flush bug');
  },
  close() {
    throw new Error('close bug');
  },
  stats() {
    throw new Error('stats bug');
  },
};

const noPromise = {
  ...broken,
  name: 'no-promise',
  flush: () => undefined,
} as unknown as AlertSink;

describe('FleetMonitor with a misbehaving alert sink', () => {
  it('keeps alerting the other sinks, collecting metrics and shutting down', async () => {
    const lines: string[] = [];
    const good = createLogSink({ writable: { write: (l: string) => lines.push(l) } });
    const rec = recordingMeter();
    const h = await harness({ meter: rec.meter, sinks: [broken, noPromise, good] });
    await h.monitor.setDesired({ cluster: 'prod', artifact_hash: A, actor: 'a', reason: 'r' });
    h.hello('n1', B);
    expect(lines.some((l) => l.includes('"drift.detected"'))).toBe(true);

    let observed: ReturnType<typeof rec.collect> = [];
    expect(() => (observed = rec.collect())).not.toThrow();
    const value = (name: string, attributes: Attributes) =>
      observed.find(
        (o) => o.name === name && JSON.stringify(o.attributes) === JSON.stringify(attributes),
      )?.value;
    expect(value(DRIFT_METRICS.nodes, { cluster: 'prod', state: 'drift' })).toBe(1);
    expect(value(DRIFT_METRICS.alertsDelivered, { sink: 'log' })).toBe(good.stats().delivered);

    await expect(h.monitor.close()).resolves.toBeUndefined();
  });
});
