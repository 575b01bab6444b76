import type {
  ClusterHistory,
  DesiredStateChangedEvent,
  FleetEvent,
  FleetMonitor,
  HistoryChange,
  HistoryDrift,
  NodeState,
} from '@plumbline/core/drift';
import { NODE_STATES } from '@plumbline/core/drift';

/** One node state change kept by the history ring. */
export interface HistoryTransition {
  readonly at: number;
  readonly node_id: string;
  readonly cluster: string;
  readonly from: NodeState;
  readonly to: NodeState;
}

/** Most desired-state changes kept per cluster. */
const CHANGES_PER_CLUSTER = 50;

/**
 * Options of {@link createFleetHistory}.
 *
 * @internal
 */
export interface FleetHistoryOptions {
  readonly monitor: FleetMonitor;
  /** Most state changes and resolved drifts kept (oldest dropped first). Default 50,000. */
  readonly limit?: number;
  /** The clock (default `Date.now`): when the ring starts recording. */
  readonly now?: () => number;
}

/**
 * A bounded retention ring of the fleet's node state changes (`node.state_changed` events, every
 * replica sees every node's) and the drifts they ended, from which a cluster's recent history is
 * computed.
 *
 * @internal
 */
export interface FleetHistory {
  history(
    cluster: string,
    options: { hours: number; buckets: number; now?: number },
  ): ClusterHistory;
  /** Records a desired-state change the monitor did not emit (another replica announced it). */
  note(event: DesiredStateChangedEvent): void;
  close(): void;
}

function zeroCounts(): Record<NodeState, number> {
  return Object.fromEntries(NODE_STATES.map((s) => [s, 0])) as Record<NodeState, number>;
}

function isState(value: unknown): value is NodeState {
  return typeof value === 'string' && (NODE_STATES as readonly string[]).includes(value);
}

/**
 * The samples of a cluster's history, oldest first: walks back from the current `states`
 * (changed in place), undoing each change of the cluster, and samples at the end of every step.
 */
function sampleBack(
  transitions: readonly HistoryTransition[],
  states: Map<string, NodeState>,
  window: { cluster: string; from: number; to: number; buckets: number },
): ClusterHistory['samples'][number][] {
  const { cluster, from, to, buckets } = window;
  const step = (to - from) / buckets;
  const samples: ClusterHistory['samples'][number][] = [];
  let i = transitions.length - 1;
  // Undoes the changes after `time`; answers the most nodes drifting at once meanwhile.
  const undoAfter = (time: number): number => {
    let drifting = 0;
    for (const s of states.values()) if (s === 'drift') drifting++;
    let peak = drifting;
    for (; i >= 0 && transitions[i]!.at > time; i--) {
      const t = transitions[i]!;
      if (t.cluster !== cluster) continue;
      if (t.from === 'never_seen' && !states.has(t.node_id)) continue;
      drifting += (t.from === 'drift' ? 1 : 0) - (states.get(t.node_id) === 'drift' ? 1 : 0);
      states.set(t.node_id, t.from);
      peak = Math.max(peak, drifting);
    }
    return peak;
  };
  undoAfter(to);
  for (let b = buckets - 1; b >= 0; b--) {
    const end = from + step * (b + 1);
    const counts = zeroCounts();
    for (const s of states.values()) counts[s]++;
    const peak = undoAfter(end - step);
    samples.push({ at: new Date(end).toISOString(), counts, peak_drift: peak });
  }
  return samples.reverse();
}

/**
 * Creates the history ring of a monitor.
 *
 * @example
 * ```ts
 * const history = createFleetHistory({ monitor });
 * history.history('prod', { hours: 6, buckets: 72 });
 * ```
 * @internal
 */
export function createFleetHistory(options: FleetHistoryOptions): FleetHistory {
  const { monitor } = options;
  const limit = Math.max(1, options.limit ?? 50_000);
  const startedAt = options.now?.() ?? Date.now();
  const transitions: HistoryTransition[] = [];
  const resolved: (HistoryDrift & { cluster: string })[] = [];
  let lostBefore = 0;
  const keep = <T>(ring: T[], item: T, at: number): void => {
    ring.push(item);
    if (ring.length > limit) {
      ring.shift();
      lostBefore = Math.max(lostBefore, at);
    }
  };
  /** When each drifting node started drifting (from the state changes seen). */
  const driftStarts = new Map<string, number>();
  /** The desired-state changes seen per cluster, oldest first (read from the store's state). */
  const changes = new Map<string, HistoryChange[]>();
  const noteChange = (cluster: string, change: HistoryChange): void => {
    const list = changes.get(cluster) ?? [];
    if (list.length > 0 && list[list.length - 1]!.version >= change.version) return;
    list.push(change);
    if (list.length > CHANGES_PER_CLUSTER) list.shift();
    changes.set(cluster, list);
  };
  const noteDesired = (cluster: string): void => {
    const d = monitor.desired(cluster);
    if (d === undefined || d === null) return;
    const { version, artifact_hash, actor, reason, changed_at } = d;
    noteChange(cluster, { version, artifact_hash, actor, reason, changed_at });
  };
  const unsubscribe = monitor.onAny((event: FleetEvent) => {
    const cluster = (event as { cluster?: unknown }).cluster;
    if (typeof cluster === 'string' && (changes.has(cluster) || changes.size < 10_000))
      noteDesired(cluster);
    if (event.type !== 'node.state_changed') return;
    const e = event as unknown as Record<string, unknown>;
    const at = Date.parse(String(e.at));
    if (Number.isNaN(at) || typeof e.node_id !== 'string' || typeof e.cluster !== 'string') return;
    if (!isState(e.from) || !isState(e.state)) return;
    const node = e.node_id;
    keep(transitions, { at, node_id: node, cluster: e.cluster, from: e.from, to: e.state }, at);
    const started = driftStarts.get(node);
    if (e.from === 'drift' && e.state !== 'drift' && started !== undefined) {
      driftStarts.delete(node);
      keep(
        resolved,
        {
          node_id: node,
          cluster: e.cluster,
          since: new Date(started).toISOString(),
          until: new Date(at).toISOString(),
          duration_ms: Math.max(0, at - started),
        },
        at,
      );
    }
    if (e.state === 'drift') driftStarts.set(node, at);
  });
  return {
    history(cluster, { hours, buckets, now = Date.now() }) {
      const to = now;
      // Nothing was recorded before the ring started: the window starts no earlier.
      const from = Math.min(to - 1000, Math.max(startedAt, to - hours * 3_600_000));
      const states = new Map<string, NodeState>();
      for (const n of monitor.nodes()) if (n.cluster === cluster) states.set(n.node_id, n.state);
      const samples = sampleBack(transitions, states, { cluster, from, to, buckets });
      const drifts: HistoryDrift[] = resolved
        .filter((d) => d.cluster === cluster && Date.parse(d.until!) >= from)
        .map(({ cluster: _c, ...d }) => d);
      for (const n of monitor.nodes()) {
        if (n.cluster !== cluster || n.state !== 'drift') continue;
        drifts.push({
          node_id: n.node_id,
          since: n.since,
          until: null,
          duration_ms: Math.max(0, to - Date.parse(n.since)),
        });
      }
      noteDesired(cluster);
      return {
        cluster,
        changes: (changes.get(cluster) ?? [])
          .filter((c) => Date.parse(c.changed_at) >= from)
          .reverse(),
        from: new Date(from).toISOString(),
        to: new Date(to).toISOString(),
        step_ms: (to - from) / buckets,
        samples,
        drifts: drifts.reverse(),
        truncated: lostBefore >= from,
      };
    },
    note(event) {
      const { cluster, version, artifact_hash, actor, reason } = event;
      if (artifact_hash === null) return;
      noteChange(cluster, { version, artifact_hash, actor, reason, changed_at: event.at });
    },
    close: unsubscribe,
  };
}

/** Most hours a cluster's history covers, and its default. */
const HISTORY_MAX_HOURS = 24;
const HISTORY_DEFAULT_HOURS = 6;
/** Samples of a cluster's history. */
const HISTORY_BUCKETS = 72;

/**
 * The answer to `GET /v1/clusters/{cluster}/history?hours=N` (`N` from 1 to 24, default 6): the
 * history, or why the request is invalid.
 *
 * @internal
 */
export function historyAnswer(
  history: FleetHistory,
  url: string,
  rawCluster: string,
): { history: ClusterHistory; hours: number } | { error: string } {
  let cluster: string;
  try {
    cluster = decodeURIComponent(rawCluster);
  } catch {
    return { error: 'invalid path encoding' };
  }
  const text = new URL(url, 'http://x').searchParams.get('hours');
  const hours = text === null ? HISTORY_DEFAULT_HOURS : Number(text);
  if (!/^[0-9]{1,2}$/.test(text ?? '6') || hours < 1 || hours > HISTORY_MAX_HOURS)
    return { error: `hours: expected 1 to ${HISTORY_MAX_HOURS}` };
  return { history: history.history(cluster, { hours, buckets: HISTORY_BUCKETS }), hours };
}
