import { describe, expect, it } from 'vitest';
import { FleetMonitor, ManualClock, MemoryFleetStore } from '@plumbline/core/drift';
import { A, B, T0, identity } from './helpers.js';

/** A store shared by replicas as far as the monitor can tell: it can claim fleet facts. */
class SharedStore extends MemoryFleetStore {
  readonly claimed = new Set<string>();
  async claimFact(key: string): Promise<boolean> {
    if (this.claimed.has(key)) return false;
    this.claimed.add(key);
    return true;
  }
}

const hello = (node: string) =>
  ({
    type: 'hello',
    protocol: 'plumbline.drift/v1',
    node_id: node,
    cluster: 'prod',
    instance_id: 'i',
    artifact_hash: A,
  }) as const;

async function saved(store: MemoryFleetStore): Promise<string[]> {
  return (await store.load()).observed.map((o) => o.node_id);
}

/** Lets the store's queued mutation run. */
const settle = (): Promise<void> => new Promise((r) => setImmediate(r));

describe('observed-state writes', () => {
  it('writes a change within 100 ms to a store shared by replicas, which show it from then on', async () => {
    const store = new SharedStore();
    const clock = new ManualClock(T0);
    const monitor = await FleetMonitor.create({ store, clock, persistIntervalMs: 1000 });
    monitor.connect(identity('n1'), hello('n1'), 's');
    clock.advance(99);
    await settle();
    expect(await saved(store)).toEqual([]);
    clock.advance(1);
    await settle();
    expect(await saved(store)).toEqual(['n1']);
    await monitor.close();
  });

  it('writes a change made while another waits within 100 ms too', async () => {
    const store = new SharedStore();
    const clock = new ManualClock(T0);
    const monitor = await FleetMonitor.create({ store, clock, persistIntervalMs: 1000 });
    monitor.connect(identity('n1'), hello('n1'), 's1');
    clock.advance(100);
    await settle();
    monitor.connect(identity('n2'), hello('n2'), 's2');
    clock.advance(100);
    await settle();
    expect(await saved(store)).toEqual(['n1', 'n2']);
    await monitor.close();
    expect(clock.pendingTimers).toBe(0);
  });

  it('writes a heartbeat that changes nothing at the interval, and brings it forward when a change follows', async () => {
    const store = new SharedStore();
    const clock = new ManualClock(T0);
    const monitor = await FleetMonitor.create({ store, clock, persistIntervalMs: 1000 });
    monitor.connect(identity('n1'), hello('n1'), 's');
    clock.advance(100);
    await settle();
    const seq = async (): Promise<number | undefined> =>
      (await store.load()).observed.find((o) => o.node_id === 'n1')?.last_seq;
    expect(await seq()).toBe(0);
    // Only last_seen moves: written at the interval, not within 100 ms.
    monitor.heartbeat('n1', 's', { type: 'heartbeat', seq: 1, artifact_hash: A });
    clock.advance(100);
    await settle();
    expect(await seq()).toBe(0);
    // Another artifact: the pending write comes forward.
    monitor.heartbeat('n1', 's', { type: 'heartbeat', seq: 2, artifact_hash: B });
    clock.advance(100);
    await settle();
    expect(await seq()).toBe(2);
    await monitor.close();
  });

  it('batches a single-process store over the whole interval (nobody else reads it sooner)', async () => {
    const store = new MemoryFleetStore();
    const clock = new ManualClock(T0);
    const monitor = await FleetMonitor.create({ store, clock, persistIntervalMs: 1000 });
    monitor.connect(identity('n1'), hello('n1'), 's');
    clock.advance(100);
    await settle();
    expect(await saved(store)).toEqual([]);
    clock.advance(900);
    await settle();
    expect(await saved(store)).toEqual(['n1']);
    await monitor.close();
  });
});
