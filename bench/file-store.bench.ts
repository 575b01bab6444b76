/**
 * The file store's save as a control plane of 12,000 nodes makes it while nodes change: 24 of the
 * nodes changed since the previous save, fsync on. Reported: the main thread's blocking time per
 * save (the synchronous part, during which no frame or alert is handled: from the call until the
 * first await hands the write to the thread pool) and the whole save, median of 40 saves, next to
 * the same run of the obvious implementation: `JSON.stringify` of the whole sorted state and one
 * `writeFile` (atomic rename, fsync), which blocks the loop for the whole serialisation and
 * encoding of ~4 MB.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { open, rename } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ObservedNode } from '@plumbline/core/drift';
import { FileFleetStore } from '@plumbline/core/node';
import { median, report } from './lib/report.js';

const NODES = 12_000;
const CHANGED = 24;
const SAVES = 40;

function node(i: number, seq: number): ObservedNode {
  return {
    node_id: `node-${i}`,
    cluster: `c${i % 10}`,
    instance_id: `6f1c2a9e-8f57-4d5e-9a64-${String(i).padStart(12, '0')}`,
    reported_hash: `sha256:${'1'.repeat(64)}`,
    workers: null,
    provenance: null,
    loaded_at: '2026-01-01T00:00:00.000Z',
    last_load_error: null,
    last_seen: new Date(Date.UTC(2026, 0, 1) + seq * 1000).toISOString(),
    last_seq: seq,
    connected: true,
    stale: false,
    awaiting_report: false,
  };
}

/** Runs `save` SAVES times, each after changing CHANGED nodes; the blocking and whole times. */
async function measure(
  nodes: ObservedNode[],
  save: (changed: ObservedNode[]) => Promise<void>,
): Promise<{ blocking: number; whole: number }> {
  const blocking: number[] = [];
  const whole: number[] = [];
  for (let k = 0; k < SAVES; k++) {
    const changed: ObservedNode[] = [];
    for (let c = 0; c < CHANGED; c++) {
      const i = Math.floor(Math.random() * NODES);
      nodes[i] = node(i, nodes[i]!.last_seq + 1);
      changed.push(nodes[i]!);
    }
    const t0 = performance.now();
    let t1 = t0;
    // The first tick the loop gets back marks the end of the synchronous part.
    const tick = new Promise<void>((r) =>
      setImmediate(() => {
        t1 = performance.now();
        r();
      }),
    );
    await save(changed);
    const t2 = performance.now();
    await tick;
    blocking.push(Math.min(t1, t2) - t0);
    whole.push(t2 - t0);
  }
  return { blocking: median(blocking), whole: median(whole) };
}

export async function run(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'plb-file-store-bench-'));
  try {
    const nodes = Array.from({ length: NODES }, (_, i) => node(i, 1));
    const store = await FileFleetStore.open({ path: join(dir, 'fleet.json') });
    await store.saveObserved(nodes);
    const ours = await measure(nodes, (changed) => store.saveObserved(changed));
    await store.close();

    const all = new Map(nodes.map((n) => [n.node_id, n]));
    const path = join(dir, 'naive.json');
    const naive = await measure(nodes, async (changed) => {
      for (const n of changed) all.set(n.node_id, n);
      const observed = [...all.keys()].sort().map((id) => all.get(id));
      const body = `${JSON.stringify({ format: 'plumbline.fleet-state/v1', revision: 1, desired: [], pins: [], expected: [], observed })}\n`;
      const tmp = `${path}.tmp`;
      const handle = await open(tmp, 'w', 0o600);
      await handle.writeFile(body, 'utf8');
      await handle.sync();
      await handle.close();
      await rename(tmp, path);
    });
    report({
      name: `file store save, ${NODES} nodes, ${CHANGED} changed: event loop blocked per save (median of ${SAVES})`,
      value: ours.blocking,
      unit: 'ms',
      higherIsBetter: false,
      baseline: { name: 'whole-state JSON.stringify + writeFile', value: naive.blocking },
    });
    report({
      name: `file store save, ${NODES} nodes, ${CHANGED} changed: whole save incl. fsync (median of ${SAVES})`,
      value: ours.whole,
      unit: 'ms',
      higherIsBetter: false,
      baseline: { name: 'whole-state JSON.stringify + writeFile', value: naive.whole },
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
