/**
 * The fleet monitor survives a store whose change feed misbehaves (integrator code): a change of
 * the wrong shape is ignored and counted, never thrown back into the store's delivery loop, and
 * the monitor keeps applying the changes that follow.
 */
import { describe, expect, it } from 'vitest';
import {
  MemoryFleetStore,
  type FleetChange,
  type FleetChangeListener,
} from '@plumbline/core/drift';
import { A, B, T0 } from './helpers.js';
import { harness } from './monitor-harness.js';

class FeedStore extends MemoryFleetStore {
  listeners: FleetChangeListener[] = [];
  override subscribe(listener: FleetChangeListener): () => void {
    this.listeners.push(listener);
    return super.subscribe(listener);
  }
}

describe('FleetMonitor with a misbehaving store change feed', () => {
  it('ignores changes of the wrong shape without throwing into the store', async () => {
    const store = new FeedStore();
    const warnings: string[] = [];
    const h = await harness({ store, logger: { warn: (m) => warnings.push(m) } });
    const deliver = store.listeners[0]!;
    const malformed = [
      { kind: 'desired' },
      { kind: 'desired', desired: null },
      { kind: 'expected', expected: { cluster: 'prod' } },
      { kind: 'pin' },
      { kind: 'observed' },
      null,
    ] as unknown as FleetChange[];
    for (const change of malformed) expect(() => deliver(change)).not.toThrow();
    expect(warnings.length).toBeGreaterThanOrEqual(1);
    await h.monitor.setDesired({ cluster: 'prod', artifact_hash: A, actor: 'a', reason: 'r' });
    h.hello('n1', B);
    expect(h.state('n1')).toBe('drift');
    await h.monitor.close();
  });
});

class SharedFeedStore extends FeedStore {
  claimFact(): Promise<boolean> {
    return Promise.resolve(true);
  }
}

describe('FleetMonitor with a shared store: heartbeat times of nodes on other replicas', () => {
  it('moves only last_seen and last_seq, and only forward, of a node it shows from another replica', async () => {
    const store = new SharedFeedStore();
    const h = await harness({ store });
    await h.monitor.setDesired({ cluster: 'prod', artifact_hash: A, actor: 'a', reason: 'r' });
    const deliver = store.listeners[0]!;
    const at = (ms: number): string => new Date(T0 + ms).toISOString();
    deliver({
      kind: 'observed',
      revision: 7,
      announce: false,
      node: {
        node_id: 'r1',
        cluster: 'prod',
        instance_id: 'i-r1',
        reported_hash: A,
        workers: null,
        provenance: null,
        loaded_at: null,
        last_load_error: null,
        last_seen: at(0),
        last_seq: 3,
        connected: true,
      },
    });
    expect(h.monitor.node('r1')).toMatchObject({ state: 'in_sync', last_seen: at(0) });
    const eventsBefore = h.events.length;
    const seen = (node_id: string, ms: number, last_seq: number): void =>
      deliver({ kind: 'seen', revision: 7, node_id, last_seen: at(ms), last_seq });
    seen('r1', 5000, 4);
    expect(h.monitor.node('r1')).toMatchObject({ state: 'in_sync', last_seen: at(5000) });
    seen('r1', 2000, 9); // older: ignored
    expect(h.monitor.node('r1')?.last_seen).toBe(at(5000));
    seen('ghost', 5000, 1); // not shown here: the record comes as an `observed` change
    expect(h.monitor.node('ghost')).toBeUndefined();
    h.hello('own', A);
    seen('own', 60_000, 1); // its session is here: this replica's own time wins
    expect(h.monitor.node('own')?.last_seen).toBe(at(0));
    expect(() => deliver({ kind: 'seen' } as unknown as FleetChange)).not.toThrow();
    // A time is not a state change: nothing announced for r1.
    expect(
      h.events.slice(eventsBefore).filter((e) => 'node_id' in e && e.node_id === 'r1'),
    ).toEqual([]);
    await h.monitor.close();
  });
});
