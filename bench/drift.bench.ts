/**
 * FleetMonitor alone: heartbeats processed per second for 50,000 nodes (parse + seq check + state
 * update, as the drift endpoint does per frame) and heap per node, each next to a same-run
 * baseline: `JSON.parse` of the same frames plus a bare `Map.set`, and a `Map` of the parsed
 * hello objects.
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import {
  FleetMonitor,
  ManualClock,
  encodeFrame,
  parseDataPlaneFrame,
  type HeartbeatFrame,
} from '@plumbline/core/drift';
import { median, report } from './lib/report.js';

const NODES = 50_000;
const ROUNDS = 4;
const REPEATS = 5;
const A = `sha256:${'a'.repeat(64)}` as const;
const B = `sha256:${'b'.repeat(64)}` as const;

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

function heapUsed(): number {
  for (let i = 0; i < 3; i++) gc();
  return process.memoryUsage().heapUsed;
}

function hello(i: number): string {
  return encodeFrame({
    type: 'hello',
    protocol: 'plumbline.drift/v1',
    node_id: `gw-${i}`,
    cluster: `cluster-${i % 10}`,
    instance_id: `6f1c2a9e-8f57-4d5e-9a64-${String(i).padStart(12, '0')}`,
    artifact_hash: A,
    provenance: {
      commit: '8f3d2c1b0a9e8d7c6b5a4f3e2d1c0b9a8f7e6d5c',
      source: 'github.com/example/gateway-config',
      ref: 'refs/heads/main',
      build_timestamp: '2026-01-01T00:00:00Z',
      builder: { id: 'plumbline-cli', version: '0.1.0' },
    },
    loaded_at: '2026-01-01T00:05:00Z',
    sdk: '@plumbline/core@0.1.0',
  });
}

function frames(round: number): string[] {
  const out: string[] = new Array(NODES);
  for (let i = 0; i < NODES; i++) {
    // One node in 1,000 drifts and comes back, so the transition path is exercised too.
    const hash = i % 1000 === 0 && round % 2 === 1 ? B : A;
    out[i] = encodeFrame({
      type: 'heartbeat',
      seq: round + 1,
      artifact_hash: hash,
      loaded_at: '2026-01-01T00:05:00Z',
    });
  }
  return out;
}

export async function run(): Promise<void> {
  const clock = new ManualClock(Date.parse('2026-01-01T00:00:00Z'));
  const ids = Array.from({ length: NODES }, (_, i) => `gw-${i}`);
  const sessions = ids.map((id) => `s-${id}`);

  // Memory: heap per node after hellos, against a Map of the parsed hello objects.
  const helloTexts = ids.map((_, i) => hello(i));
  const before = heapUsed();
  const monitor = await FleetMonitor.create({
    clock,
    heartbeatIntervalMs: 5000,
    flapDamping: false,
    persistIntervalMs: 3_600_000,
  });
  for (let c = 0; c < 10; c++) {
    await monitor.setDesired({
      cluster: `cluster-${c}`,
      artifact_hash: A,
      actor: 'bench',
      reason: 'bench',
    });
  }
  for (let i = 0; i < NODES; i++) {
    const parsed = parseDataPlaneFrame(helloTexts[i] as string);
    if (parsed.kind !== 'frame' || parsed.frame.type !== 'hello') throw new Error('bad hello');
    const result = monitor.connect(
      { node_id: ids[i] as string, cluster: parsed.frame.cluster, principal: 'bench' },
      parsed.frame,
      sessions[i] as string,
    );
    if (!result.ok) throw new Error(result.code);
  }
  await monitor.flush();
  const ours = (heapUsed() - before) / NODES;
  const baseBefore = heapUsed();
  const bare = new Map<string, unknown>();
  for (let i = 0; i < NODES; i++) bare.set(ids[i] as string, JSON.parse(helloTexts[i] as string));
  const baseline = (heapUsed() - baseBefore) / NODES;
  report({
    name: `FleetMonitor heap per node (${NODES} nodes)`,
    value: ours,
    unit: 'B/node',
    baseline: { name: 'Map of parsed hello objects', value: baseline },
    higherIsBetter: false,
    target: '< 2048 B/node',
    met: ours < 2048,
  });
  bare.clear();

  // Throughput: parse + heartbeat for every node, ROUNDS rounds per repeat.
  const rounds = Array.from({ length: ROUNDS * REPEATS }, (_, r) => frames(r));
  const oursRates: number[] = [];
  const baseRates: number[] = [];
  const map = new Map<string, { seq: number; hash: string | null }>();
  for (const id of ids) map.set(id, { seq: 0, hash: A });
  for (let rep = 0; rep < REPEATS; rep++) {
    let t0 = performance.now();
    for (let r = 0; r < ROUNDS; r++) {
      const texts = rounds[rep * ROUNDS + r] as string[];
      for (let i = 0; i < NODES; i++) {
        const parsed = parseDataPlaneFrame(texts[i] as string);
        if (parsed.kind === 'frame')
          monitor.heartbeat(
            ids[i] as string,
            sessions[i] as string,
            parsed.frame as HeartbeatFrame,
          );
      }
      clock.advance(1000);
    }
    oursRates.push((NODES * ROUNDS) / ((performance.now() - t0) / 1000));
    t0 = performance.now();
    for (let r = 0; r < ROUNDS; r++) {
      const texts = rounds[rep * ROUNDS + r] as string[];
      for (let i = 0; i < NODES; i++) {
        const frame = JSON.parse(texts[i] as string) as {
          seq: number;
          artifact_hash: string | null;
        };
        const entry = map.get(ids[i] as string);
        if (entry !== undefined && frame.seq > entry.seq) {
          entry.seq = frame.seq;
          entry.hash = frame.artifact_hash;
        }
      }
    }
    baseRates.push((NODES * ROUNDS) / ((performance.now() - t0) / 1000));
  }
  const accepted = monitor.counters().heartbeats;
  if (accepted !== NODES * ROUNDS * REPEATS) throw new Error(`accepted ${accepted} heartbeats`);
  const rate = median(oursRates);
  report({
    name: `FleetMonitor heartbeats/s (${NODES} nodes, parse + update)`,
    value: rate,
    unit: 'heartbeats/s',
    baseline: { name: 'JSON.parse + Map update', value: median(baseRates) },
    higherIsBetter: true,
    target: '>= 200000 heartbeats/s',
    met: rate >= 200_000,
  });

  // The monitor's own share: heartbeat() on already-parsed frames.
  const parsedRound = (rounds[0] as string[]).map((t) => JSON.parse(t) as HeartbeatFrame);
  const onlyRates: number[] = [];
  let seq = ROUNDS * REPEATS + 1;
  for (let rep = 0; rep < REPEATS; rep++) {
    for (const f of parsedRound) (f as { seq: number }).seq = seq;
    seq++;
    const t0 = performance.now();
    for (let i = 0; i < NODES; i++)
      monitor.heartbeat(ids[i] as string, sessions[i] as string, parsedRound[i] as HeartbeatFrame);
    onlyRates.push(NODES / ((performance.now() - t0) / 1000));
  }
  report({
    name: 'FleetMonitor.heartbeat() alone (frames already parsed)',
    value: median(onlyRates),
    unit: 'heartbeats/s',
    baseline: { name: 'JSON.parse + Map update', value: median(baseRates) },
    higherIsBetter: true,
  });
  await monitor.close();
}
