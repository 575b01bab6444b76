import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import type { DigestString } from '@plumbline/core/hash';
import type { FleetEvent, NodeState } from '@plumbline/core/drift';
import { A, B, C } from './helpers.js';
import { harness } from './monitor-harness.js';

const NODES = ['n0', 'n1', 'n2'] as const;
const HASHES = [A, B, C, null] as const;
const INTERVAL = 1000;
const STALE = 3 * INTERVAL;

type Op =
  | { op: 'hello'; node: number; hash: number; instance: number }
  | { op: 'beat'; node: number; hash: number; error: number }
  | { op: 'drop'; node: number }
  | { op: 'advance'; ms: number }
  | { op: 'desired'; hash: number; rolloutMs: number | null }
  | { op: 'clear' };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  fc.record({
    op: fc.constant('hello' as const),
    node: fc.nat(2),
    hash: fc.nat(3),
    instance: fc.nat(1),
  }),
  fc.record({
    op: fc.constant('beat' as const),
    node: fc.nat(2),
    hash: fc.nat(3),
    error: fc.nat(3),
  }),
  fc.record({
    op: fc.constant('beat' as const),
    node: fc.nat(2),
    hash: fc.nat(3),
    error: fc.nat(3),
  }),
  fc.record({ op: fc.constant('drop' as const), node: fc.nat(2) }),
  fc.record({
    op: fc.constant('advance' as const),
    // Whole intervals hit the stale and deadline boundaries exactly.
    ms: fc.oneof(fc.integer({ min: 0, max: 5000 }), fc.constantFrom(500, 1000, 1500, 3000)),
  }),
  fc.record({
    op: fc.constant('desired' as const),
    hash: fc.nat(2),
    rolloutMs: fc.option(fc.oneof(fc.integer({ min: 1, max: 8000 }), fc.constantFrom(1000, 3000)), {
      nil: null,
    }),
  }),
  fc.constant({ op: 'clear' as const }),
);

/** An independent, from-scratch model of the node states (no flap damping). */
class Model {
  now = 0;
  desired: DigestString | null = null;
  rollout: {
    prev: DigestString | null;
    deadline: number;
    status: 'in_progress' | 'completed' | 'exceeded';
  } | null = null;
  nodes = new Map<
    string,
    {
      connected: boolean;
      lastSeen: number;
      reported: DigestString | null;
      error: DigestString | null;
    }
  >();

  state(id: string): NodeState | undefined {
    const n = this.nodes.get(id);
    if (n === undefined) return undefined;
    if (!n.connected) return 'disconnected';
    if (this.now - n.lastSeen >= STALE) return 'stale';
    if (this.desired === null) return 'unknown';
    if (n.reported === this.desired) return 'in_sync';
    if (n.error === this.desired) return 'rejected';
    if (
      this.rollout?.status === 'in_progress' &&
      this.rollout.prev !== null &&
      n.reported === this.rollout.prev
    )
      return 'pending';
    return 'drift';
  }

  settle(): void {
    const r = this.rollout;
    if (r === null || r.status !== 'in_progress') return;
    if (this.now >= r.deadline) {
      r.status = 'exceeded';
      return;
    }
    const states = [...this.nodes.keys()].map((id) => this.state(id));
    if (states.some((s) => s === 'pending' || s === 'drift' || s === 'rejected' || s === 'stale'))
      return;
    if (states.includes('in_sync')) r.status = 'completed';
  }
}

async function run(
  ops: readonly Op[],
  chunked: boolean,
  check?: (states: Record<string, string | undefined>, model: Model) => void,
) {
  const h = await harness();
  const model = new Model();
  model.now = h.clock.now();
  const sessions = new Map<string, number>();
  for (const op of ops) {
    switch (op.op) {
      case 'hello': {
        const node = NODES[op.node] as string;
        const n = (sessions.get(node) ?? 0) + 1;
        sessions.set(node, n);
        h.hello(node, HASHES[op.hash] as DigestString | null, {
          session: `${node}-${n}`,
          instance: `i${op.instance}`,
        });
        const prev = model.nodes.get(node);
        model.nodes.set(node, {
          connected: true,
          lastSeen: model.now,
          reported: HASHES[op.hash] ?? null,
          error: prev?.error ?? null,
        });
        break;
      }
      case 'beat': {
        const node = NODES[op.node] as string;
        const m = model.nodes.get(node);
        const hash = HASHES[op.hash] ?? null;
        const error = op.error === 3 ? null : (HASHES[op.error] as DigestString);
        const ok = h.beat(node, hash, {
          session: `${node}-${sessions.get(node) ?? 0}`,
          error:
            error === null
              ? null
              : { artifact_hash: error, code: 'PLB_X', message: 'm', at: '2026-01-01T00:00:00Z' },
        });
        expect(ok).toBe(m?.connected === true);
        if (m?.connected) Object.assign(m, { lastSeen: model.now, reported: hash, error });
        break;
      }
      case 'drop': {
        const node = NODES[op.node] as string;
        h.drop(node, 1006, `${node}-${sessions.get(node) ?? 0}`);
        const m = model.nodes.get(node);
        if (m !== undefined) m.connected = false;
        break;
      }
      case 'advance': {
        if (chunked) {
          let left = op.ms;
          let step = 1;
          while (left > 0) {
            const d = Math.min(left, step);
            h.clock.advance(d);
            left -= d;
            step = (step * 7) % 997 || 1;
          }
        } else h.clock.advance(op.ms);
        model.now += op.ms;
        break;
      }
      case 'desired': {
        const hash = HASHES[op.hash] as DigestString;
        await h.monitor.setDesired({
          cluster: 'prod',
          artifact_hash: hash,
          actor: 'prop',
          reason: 'prop',
          ...(op.rolloutMs === null ? {} : { rollout: { graceMs: op.rolloutMs } }),
        });
        model.rollout =
          op.rolloutMs === null
            ? null
            : { prev: model.desired, deadline: model.now + op.rolloutMs, status: 'in_progress' };
        model.desired = hash;
        break;
      }
      case 'clear':
        await h.monitor.clearDesired('prod', 'prop');
        model.desired = null;
        model.rollout = null;
        break;
    }
    model.settle();
    if (check) {
      const states: Record<string, string | undefined> = {};
      for (const n of NODES) states[n] = h.state(n);
      check(states, model);
    }
  }
  const summary = h.monitor.summary();
  const events = h.events.map((e: FleetEvent) => ({ ...e, id: '' }));
  await h.monitor.close();
  expect(h.clock.pendingTimers).toBe(0);
  return { summary, events };
}

describe('FleetMonitor state is a function of the event history', () => {
  it('matches an independent model after every event', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(opArb, { maxLength: 40 }), async (ops) => {
        await run(ops, false, (states, model) => {
          for (const n of NODES) expect(states[n], n).toBe(model.state(n));
        });
      }),
      { numRuns: 150 },
    );
  });

  it('does not depend on how time is sliced (timer noise) and emits the same events', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(opArb, { maxLength: 30 }), async (ops) => {
        const whole = await run(ops, false);
        const sliced = await run(ops, true);
        expect(sliced.summary).toEqual(whole.summary);
        expect(sliced.events).toEqual(whole.events);
      }),
      { numRuns: 60 },
    );
  });

  it('emits exactly one state_changed per change, and counts add up', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(opArb, { maxLength: 40 }), async (ops) => {
        const { summary, events } = await run(ops, false);
        const last = new Map<string, string>();
        for (const e of events) {
          if (e.type !== 'node.state_changed') continue;
          expect(e.from).not.toBe(e.state);
          expect(e.from).toBe(last.get(e.node_id) ?? 'never_seen');
          last.set(e.node_id, e.state);
        }
        const total = summary.reduce(
          (sum, c) => sum + Object.values(c.counts).reduce((a, b) => a + b, 0),
          0,
        );
        expect(total).toBe(summary.reduce((sum, c) => sum + c.total, 0));
        expect(total).toBe(
          new Set(
            events.filter((e) => 'node_id' in e).map((e) => (e as { node_id: string }).node_id),
          ).size,
        );
      }),
      { numRuns: 100 },
    );
  });
});
