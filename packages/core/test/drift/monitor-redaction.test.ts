import { MemoryFleetStore, type FleetEvent } from '@plumbline/core/drift';
import { describe, expect, it } from 'vitest';
import { A, B } from './helpers.js';
import { harness } from './monitor-harness.js';

const SECRET = 'ghp_0123456789abcdefghijABCDEFGHIJ012345';
const REASON = `release 42, deployed with token Bearer ${SECRET}`;

describe('desired-state reasons are redacted once, where they enter', () => {
  it('keeps a secret in a reason out of the store, the events and the sinks', async () => {
    const store = new MemoryFleetStore();
    const sent: FleetEvent[] = [];
    const h = await harness({
      store,
      sinks: [
        {
          name: 'capture',
          send: (e) => {
            sent.push(e);
          },
          flush: async () => {},
          close: async () => {},
          stats: () => ({ accepted: 0, delivered: 0, dropped: 0, failures: 0, queued: 0 }),
        },
      ],
    });
    const desired = await h.monitor.setDesired({
      cluster: 'prod',
      artifact_hash: A,
      actor: 'alice',
      reason: REASON,
    });
    await h.monitor.pin({
      node_id: 'n1',
      cluster: 'prod',
      artifact_hash: B,
      actor: 'alice',
      reason: REASON,
    });
    const everything = JSON.stringify([desired, await store.load(), h.events, sent]);
    expect(everything).not.toContain(SECRET);
    expect(desired.reason).toContain('release 42');
    expect(desired.reason).toContain('[REDACTED]');
    expect(h.of('desired_state.changed')[0]?.reason).toBe(desired.reason);
    await h.monitor.close();
  });
});
