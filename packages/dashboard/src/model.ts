/**
 * View model of the fleet dashboard: the fleet as the page knows it, the reducer applying the
 * control plane's stream events to it, the node table's sorting and filtering, the rollout
 * countdown, and an incremental Server-Sent Events parser. Pure functions, no DOM.
 *
 * @packageDocumentation
 */

import type {
  ClusterHistory as CoreClusterHistory,
  LoadError,
  NodeState as CoreNodeState,
  ReportedProvenance,
  Rollout as CoreRollout,
} from '@plumbline/core/drift';

// The wire types come from core as types only (erased at build: the page bundles no core code).

/** A node state (docs/protocol.md "Fleet states"): core's type. @public */
export type NodeState = CoreNodeState;

/**
 * Every state, in the order the page shows them: the same list, in the same order, as core's
 * `NODE_STATES` (the page ships without core, so it keeps a copy; a test pins the two equal).
 * @public
 */
export const STATES: readonly NodeState[] = [
  'in_sync',
  'drift',
  'pending',
  'rejected',
  'unknown',
  'stale',
  'disconnected',
  'never_seen',
  'awaiting_report',
  'reload_pending',
  'probe_failing',
];

/** The provenance a node reported for what it runs: core's type. @public */
export type Provenance = ReportedProvenance;

/** One node of `GET /v1/fleet`. @public */
export interface FleetNode {
  readonly node_id: string;
  readonly cluster: string;
  readonly state: NodeState;
  readonly since: string;
  readonly reported_hash: string | null;
  readonly desired_hash: string | null;
  readonly last_seen: string | null;
  readonly instance_id: string | null;
  readonly provenance: Provenance | null;
  /**
   * What the node's live-configuration probe last found (protocol v1.1): status, live and
   * expected digests, where they differ; absent or `null` without a probe.
   */
  readonly live_config?: LiveConfig | null;
  /** The node's last failed load, as last reported (core's `LoadError`); absent or `null` when none. */
  readonly last_load_error?: LoadError | null;
}

/** A node's live configuration as its probe found it. @public */
export interface LiveConfig {
  readonly probe: string;
  readonly status: 'ok' | 'reload_pending' | 'failing';
  readonly digest: string | null;
  readonly expected_digest: string | null;
  readonly differences?: readonly string[];
  readonly code?: string;
  readonly at: string;
}

/** A cluster's rollout window (core's `Rollout`) with the status the page tracks. @public */
export interface Rollout extends Omit<CoreRollout, 'previous_hash'> {
  readonly previous_hash: string | null;
  readonly status?: 'in_progress' | 'completed' | 'deadline_exceeded';
}

/** One cluster of `GET /v1/fleet`. @public */
export interface Cluster {
  readonly cluster: string;
  readonly desired_hash: string | null;
  readonly rollout: Rollout | null;
  readonly counts: Readonly<Record<NodeState, number>>;
}

/** A fleet event as the stream sends it (the monitor's event JSON). @public */
export interface FleetEvent {
  readonly type: string;
  readonly id: string;
  readonly at: string;
  readonly node_id?: string;
  readonly cluster?: string;
  readonly state?: NodeState;
  readonly from?: NodeState;
  readonly reported_hash?: string | null;
  readonly desired_hash?: string | null;
  readonly instance_id?: string | null;
  readonly last_seen?: string | null;
  readonly provenance?: Provenance | null;
  readonly artifact_hash?: string | null;
  readonly rollout?: Rollout | null;
  readonly [key: string]: unknown;
}

/** The opening `snapshot` event of the stream. @public */
export interface Snapshot {
  readonly clusters: readonly Cluster[];
  readonly nodes: readonly FleetNode[];
  readonly recent: readonly FleetEvent[];
}

/** The fleet as the page knows it. @public */
export interface FleetView {
  readonly clusters: ReadonlyMap<string, Cluster>;
  readonly nodes: ReadonlyMap<string, FleetNode>;
  /** Recent events per node id, oldest first. */
  readonly timelines: ReadonlyMap<string, readonly FleetEvent[]>;
  /** Recent events of the whole fleet, newest first. */
  readonly recent: readonly FleetEvent[];
}

/** Most events kept per node timeline and in the fleet's recent list. @public */
export const TIMELINE_LIMIT = 200;

/** An empty view (before the first snapshot). @public */
export const EMPTY_VIEW: FleetView = {
  clusters: new Map(),
  nodes: new Map(),
  timelines: new Map(),
  recent: [],
};

function zeroCounts(): Record<NodeState, number> {
  return Object.fromEntries(STATES.map((s) => [s, 0])) as Record<NodeState, number>;
}

function countsOf(
  nodes: ReadonlyMap<string, FleetNode>,
  cluster: string,
): Record<NodeState, number> {
  const counts = zeroCounts();
  for (const node of nodes.values()) if (node.cluster === cluster) counts[node.state]++;
  return counts;
}

function pushTimeline(
  timelines: Map<string, readonly FleetEvent[]>,
  nodeId: string,
  event: FleetEvent,
): void {
  const list = timelines.get(nodeId) ?? [];
  if (list.some((e) => e.id === event.id)) return;
  const next = [...list, event];
  timelines.set(nodeId, next.length > TIMELINE_LIMIT ? next.slice(-TIMELINE_LIMIT) : next);
}

/**
 * Builds the view from the stream's `snapshot` event.
 *
 * @example
 * ```ts
 * const view = fromSnapshot(JSON.parse(event.data));
 * ```
 * @public
 */
export function fromSnapshot(snapshot: Snapshot): FleetView {
  const nodes = new Map(snapshot.nodes.map((n) => [n.node_id, n]));
  const clusters = new Map(snapshot.clusters.map((c) => [c.cluster, c]));
  const timelines = new Map<string, readonly FleetEvent[]>();
  for (const event of snapshot.recent) {
    if (event.node_id !== undefined) pushTimeline(timelines, event.node_id, event);
  }
  return {
    nodes,
    clusters,
    timelines,
    recent: [...snapshot.recent].reverse().slice(0, TIMELINE_LIMIT),
  };
}

/**
 * Applies one fleet event to the view and returns the new view (the old one is untouched).
 * Node events update the node (created when new), its timeline and its cluster's counts;
 * `desired_state.changed` and `rollout.*` update the cluster.
 *
 * @example
 * ```ts
 * view = applyEvent(view, JSON.parse(message.data));
 * ```
 * @public
 */
export function applyEvent(view: FleetView, event: FleetEvent): FleetView {
  const recent = [event, ...view.recent].slice(0, TIMELINE_LIMIT);
  if (event.node_id !== undefined && event.cluster !== undefined && event.state !== undefined) {
    const nodes = new Map(view.nodes);
    const before = nodes.get(event.node_id);
    const changed = before === undefined || before.state !== event.state;
    const node: FleetNode = {
      node_id: event.node_id,
      cluster: event.cluster,
      state: event.state,
      since: changed ? event.at : (before?.since ?? event.at),
      reported_hash: event.reported_hash ?? null,
      desired_hash: event.desired_hash ?? null,
      last_seen: event.last_seen !== undefined ? event.last_seen : (before?.last_seen ?? null),
      instance_id: event.instance_id ?? null,
      provenance: event.provenance !== undefined ? event.provenance : (before?.provenance ?? null),
      last_load_error:
        event.last_load_error !== undefined
          ? (event.last_load_error as LoadError | null)
          : (before?.last_load_error ?? null),
    };
    nodes.set(event.node_id, node);
    const timelines = new Map(view.timelines);
    pushTimeline(timelines, event.node_id, event);
    const clusters = new Map(view.clusters);
    const cluster = clusters.get(event.cluster);
    clusters.set(event.cluster, {
      cluster: event.cluster,
      desired_hash: cluster?.desired_hash ?? event.desired_hash ?? null,
      rollout: cluster?.rollout ?? null,
      counts: countsOf(nodes, event.cluster),
    });
    if (before !== undefined && before.cluster !== event.cluster) {
      const old = clusters.get(before.cluster);
      if (old) clusters.set(before.cluster, { ...old, counts: countsOf(nodes, before.cluster) });
    }
    return { nodes, clusters, timelines, recent };
  }
  if (event.cluster !== undefined) {
    const clusters = new Map(view.clusters);
    const cluster: Cluster = clusters.get(event.cluster) ?? {
      cluster: event.cluster,
      desired_hash: null,
      rollout: null,
      counts: zeroCounts(),
    };
    if (event.type === 'desired_state.changed') {
      const rollout = event.rollout ?? null;
      clusters.set(event.cluster, {
        ...cluster,
        desired_hash: event.artifact_hash ?? null,
        rollout: rollout === null ? null : { ...rollout, status: 'in_progress' },
      });
    } else if (event.type === 'rollout.completed' || event.type === 'rollout.deadline_exceeded') {
      const rollout = event.rollout ?? cluster.rollout;
      clusters.set(event.cluster, {
        ...cluster,
        rollout:
          rollout === null
            ? null
            : {
                ...rollout,
                status: event.type === 'rollout.completed' ? 'completed' : 'deadline_exceeded',
              },
      });
    } else {
      return { ...view, recent };
    }
    return { ...view, clusters, recent };
  }
  return { ...view, recent };
}

/** Sortable columns of the node table. @public */
export type SortKey = 'node_id' | 'cluster' | 'state' | 'since' | 'last_seen';

/** Sort order of the node table. @public */
export interface Sort {
  readonly key: SortKey;
  readonly descending: boolean;
}

/** Filter of the node table: a cluster, a state, and free text matched against ids and hashes. @public */
export interface Filter {
  readonly cluster?: string;
  readonly state?: NodeState;
  readonly text?: string;
}

/** Worst first: the states that need attention. */
const SEVERITY: readonly NodeState[] = [
  'drift',
  'rejected',
  'probe_failing',
  'stale',
  'disconnected',
  'never_seen',
  'pending',
  'reload_pending',
  'awaiting_report',
  'unknown',
  'in_sync',
];
const SEVERITY_RANK = new Map(SEVERITY.map((s, i) => [s, i]));

function compare(a: FleetNode, b: FleetNode, key: SortKey): number {
  switch (key) {
    case 'state':
      return (SEVERITY_RANK.get(a.state) ?? 0) - (SEVERITY_RANK.get(b.state) ?? 0);
    case 'since':
      return Date.parse(a.since) - Date.parse(b.since);
    case 'last_seen':
      return (
        (a.last_seen === null ? -Infinity : Date.parse(a.last_seen)) -
          (b.last_seen === null ? -Infinity : Date.parse(b.last_seen)) || 0
      );
    default:
      return a[key] < b[key] ? -1 : a[key] > b[key] ? 1 : 0;
  }
}

/**
 * The rows of the node table: the nodes matching `filter`, sorted by `sort` (ties broken by
 * node id, so the order is stable across updates). States sort by severity (drift first).
 *
 * @example
 * ```ts
 * const rows = visibleNodes(view.nodes.values(), { state: 'drift' }, { key: 'since', descending: true });
 * ```
 * @public
 */
export function visibleNodes(nodes: Iterable<FleetNode>, filter: Filter, sort: Sort): FleetNode[] {
  const text = filter.text?.trim().toLowerCase() ?? '';
  const rows: FleetNode[] = [];
  for (const node of nodes) {
    if (filter.cluster !== undefined && node.cluster !== filter.cluster) continue;
    if (filter.state !== undefined && node.state !== filter.state) continue;
    if (
      text !== '' &&
      !node.node_id.toLowerCase().includes(text) &&
      !node.cluster.toLowerCase().includes(text) &&
      !(node.reported_hash ?? '').includes(text) &&
      !(node.provenance?.commit ?? '').toLowerCase().includes(text)
    )
      continue;
    rows.push(node);
  }
  const sign = sort.descending ? -1 : 1;
  rows.sort(
    (a, b) =>
      sign * compare(a, b, sort.key) ||
      (a.node_id < b.node_id ? -1 : a.node_id > b.node_id ? 1 : 0),
  );
  return rows;
}

/**
 * Shortens a digest for display: `sha256:` and the first 12 hex digits.
 *
 * @example
 * ```ts
 * shortHash('sha256:0123456789abcdef…'); // 'sha256:0123456789ab'
 * ```
 * @public
 */
export function shortHash(hash: string | null | undefined): string {
  if (hash === null || hash === undefined) return '—';
  const m = /^(sha256:)([0-9a-f]{12})[0-9a-f]*$/.exec(hash);
  return m ? `${m[1]}${m[2]}` : hash.slice(0, 19);
}

/**
 * A duration as short text: `45s`, `12m 5s`, `3h 20m`, `2d 4h`.
 *
 * @example
 * ```ts
 * formatDuration(3_725_000); // '1h 2m'
 * ```
 * @public
 */
export function formatDuration(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m ${s % 60}s`;
  const h = Math.floor(m / 60);
  if (h < 24) return `${h}h ${m % 60}m`;
  return `${Math.floor(h / 24)}d ${h % 24}h`;
}

/** A rollout's progress as the cluster card shows it. @public */
export interface RolloutProgress {
  /** Nodes in sync out of the nodes judged (excluding `never_seen`, `awaiting_report` and `unknown`). */
  readonly done: number;
  readonly total: number;
  /** `in 4m 10s`, `overdue by 20s`, `completed` or `deadline exceeded`. */
  readonly label: string;
  readonly overdue: boolean;
}

/**
 * The progress of a cluster's rollout at `now` (milliseconds since the epoch), or `null` when
 * the cluster has no rollout.
 *
 * @example
 * ```ts
 * rolloutProgress(cluster, Date.now())?.label; // 'in 4m 10s'
 * ```
 * @public
 */
export function rolloutProgress(cluster: Cluster, now: number): RolloutProgress | null {
  const rollout = cluster.rollout;
  if (rollout === null) return null;
  const c = cluster.counts;
  const total = STATES.reduce(
    (sum, s) =>
      s === 'never_seen' || s === 'unknown' || s === 'awaiting_report' ? sum : sum + c[s],
    0,
  );
  const done = c.in_sync;
  const left = Date.parse(rollout.deadline) - now;
  if (rollout.status === 'completed') return { done, total, label: 'completed', overdue: false };
  if (rollout.status === 'deadline_exceeded')
    return { done, total, label: 'deadline exceeded', overdue: true };
  return left >= 0
    ? { done, total, label: `in ${formatDuration(left)}`, overdue: false }
    : { done, total, label: `overdue by ${formatDuration(-left)}`, overdue: true };
}

/**
 * `href` of a provenance source when it is an http(s) URL (a commit is linked under it for
 * GitHub- and GitLab-style hosts), otherwise `null` (never a `javascript:` or other URL).
 *
 * @example
 * ```ts
 * sourceLink({ source: 'https://github.com/o/r', commit: 'abc' }); // 'https://github.com/o/r/commit/abc'
 * ```
 * @public
 */
export function sourceLink(provenance: Provenance | null): string | null {
  const source = provenance?.source;
  if (source === undefined) return null;
  let url: URL;
  try {
    url = new URL(source.replace(/^git\+/, '').replace(/\.git$/, ''));
  } catch {
    return null;
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') return null;
  url.username = '';
  url.password = '';
  const commit = provenance?.commit;
  if (commit !== undefined && /^[0-9a-f]{7,64}$/i.test(commit)) {
    return `${url.origin}${url.pathname.replace(/\/$/, '')}/commit/${commit}`;
  }
  return url.href;
}

/** One parsed Server-Sent Event. @public */
export interface SseMessage {
  readonly event: string;
  readonly data: string;
  readonly id: string | null;
}

/**
 * An incremental `text/event-stream` parser (the WHATWG algorithm: `event`, `data`, `id`,
 * `retry` fields, comments, CR/LF/CRLF line ends). Feed it text chunks; it calls `onMessage` for
 * each complete event. Lines longer than `maxLineLength` (default 8 MiB) fail the stream.
 *
 * @example
 * ```ts
 * const parser = new SseParser((m) => console.log(m.event, m.data));
 * parser.push('event: snapshot\ndata: {}\n\n');
 * ```
 * @public
 */
export class SseParser {
  #buffer = '';
  #event = '';
  #data: string[] = [];
  #id: string | null = null;
  /** The last event id seen (for `Last-Event-ID`). */
  lastEventId: string | null = null;
  /** The reconnection delay the server asked for, in milliseconds. */
  retry: number | null = null;
  readonly #onMessage: (message: SseMessage) => void;
  readonly #maxLine: number;

  constructor(onMessage: (message: SseMessage) => void, options: { maxLineLength?: number } = {}) {
    this.#onMessage = onMessage;
    this.#maxLine = options.maxLineLength ?? 8 * 1024 * 1024;
  }

  /**
   * Feeds a chunk of text.
   *
   * @throws Error when a line exceeds `maxLineLength`.
   */
  push(chunk: string): void {
    this.#buffer += chunk;
    for (;;) {
      const m = /\r\n|\r|\n/.exec(this.#buffer);
      if (m === null) break;
      // A lone CR at the end may be the first half of CRLF: wait for more.
      if (m[0] === '\r' && m.index === this.#buffer.length - 1) break;
      const line = this.#buffer.slice(0, m.index);
      this.#buffer = this.#buffer.slice(m.index + m[0].length);
      this.#line(line);
    }
    if (this.#buffer.length > this.#maxLine) {
      throw new Error('event stream line too long');
    }
  }

  #line(line: string): void {
    if (line === '') {
      if (this.#id !== null) this.lastEventId = this.#id;
      if (this.#data.length > 0) {
        this.#onMessage({
          event: this.#event === '' ? 'message' : this.#event,
          data: this.#data.join('\n'),
          id: this.lastEventId,
        });
      }
      this.#event = '';
      this.#data = [];
      this.#id = null;
      return;
    }
    if (line.startsWith(':')) return;
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'event') this.#event = value;
    else if (field === 'data') this.#data.push(value);
    else if (field === 'id' && !value.includes('\0')) this.#id = value;
    else if (field === 'retry' && /^[0-9]+$/.test(value)) this.retry = Number(value);
  }
}

/**
 * Which rows of a virtualized table to render: the first index and the count, for a viewport
 * of `height` pixels scrolled to `scrollTop`, rows of `rowHeight`, with `overscan` extra rows on
 * each side.
 *
 * @example
 * ```ts
 * windowOf({ total: 1000, rowHeight: 32, height: 640, scrollTop: 3200 }); // { start: 90, end: 130 }
 * ```
 * @public
 */
export function windowOf(options: {
  total: number;
  rowHeight: number;
  height: number;
  scrollTop: number;
  overscan?: number;
}): { start: number; end: number } {
  const overscan = options.overscan ?? 10;
  const first = Math.floor(Math.max(0, options.scrollTop) / options.rowHeight);
  const visible = Math.ceil(options.height / options.rowHeight);
  const start = Math.max(0, Math.min(options.total, first - overscan));
  const end = Math.max(start, Math.min(options.total, first + visible + overscan));
  return { start, end };
}

/** `GET /v1/fleet/nodes/{id}/diff`: what a node runs against what it should run. @public */
export interface NodeDiff {
  readonly node_id: string;
  readonly desired_hash: string;
  readonly reported_hash: string;
  readonly added: readonly { path: string; digest: string; size: number }[];
  readonly removed: readonly { path: string; digest: string; size: number }[];
  readonly changed: readonly {
    path: string;
    desired: { digest: string; size: number };
    reported: { digest: string; size: number };
  }[];
  readonly unchanged: number;
  readonly truncated: boolean;
}

/** One row of the node detail's file table. @public */
export interface DiffRow {
  readonly path: string;
  /** `changed` (content differs), `extra` (only on the node), `missing` (not on the node). */
  readonly kind: 'changed' | 'extra' | 'missing';
  readonly desired: string | null;
  readonly reported: string | null;
}

/**
 * The rows of a node's file diff, sorted by path (UTF-16 order, as the page shows them).
 *
 * @example
 * ```ts
 * diffRows(diff).map((r) => `${r.kind} ${r.path}`);
 * ```
 * @public
 */
export function diffRows(diff: NodeDiff): DiffRow[] {
  const rows: DiffRow[] = [
    ...diff.changed.map((c) => ({
      path: c.path,
      kind: 'changed' as const,
      desired: c.desired.digest,
      reported: c.reported.digest,
    })),
    ...diff.added.map((e) => ({
      path: e.path,
      kind: 'extra' as const,
      desired: null,
      reported: e.digest,
    })),
    ...diff.removed.map((e) => ({
      path: e.path,
      kind: 'missing' as const,
      desired: e.digest,
      reported: null,
    })),
  ];
  return rows.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

/** One event of `GET /v1/audit/recent`. @public */
export interface AuditEntry {
  readonly id: string;
  readonly time: string;
  readonly type: string;
  readonly outcome: string;
  readonly severity: string;
  readonly actor: { readonly type: string; readonly id: string };
  readonly subject?: { readonly type: string; readonly id: string };
  readonly reason?: string;
  readonly details?: unknown;
}

/**
 * What an audit event was about, in a few words: its subject, else the node, cluster and hash
 * its details name (`gw-1 · prod · sha256:0123456789ab`).
 *
 * @example
 * ```ts
 * const event = {
 *   id: 'evt-1', type: 'drift.detected', time: '2026-01-01T00:00:00Z', outcome: 'success', severity: 'warning',
 *   actor: { type: 'system', id: 'monitor' }, subject: { type: 'node', id: 'gw-1' },
 * };
 * auditTarget(event); // 'node gw-1'
 * ```
 * @public
 */
export function auditTarget(event: AuditEntry): string {
  const d =
    typeof event.details === 'object' && event.details !== null
      ? (event.details as Record<string, unknown>)
      : {};
  const parts: string[] = [];
  if (event.subject !== undefined) parts.push(`${event.subject.type} ${event.subject.id}`);
  else {
    if (typeof d.node_id === 'string') parts.push(d.node_id);
    if (typeof d.cluster === 'string') parts.push(d.cluster);
  }
  const hash = d.artifact_hash ?? d.reported_hash;
  if (typeof hash === 'string') parts.push(shortHash(hash));
  return parts.length === 0 ? '—' : parts.join(' · ');
}

/**
 * A `last_seen` frame of the stream: the nodes seen since the previous frame, each with its age
 * in milliseconds at the control plane's time `at`.
 * @public
 */
export interface LastSeenFrame {
  readonly at: string;
  readonly ages: Readonly<Record<string, number>>;
}

/**
 * Applies a `last_seen` frame: each listed node's `last_seen` becomes `at` minus its age (the
 * control plane's clock; the page shows ages against that clock, see {@link clockOffset}).
 * Nodes the view does not know are ignored (their first event brings them).
 *
 * @example
 * ```ts
 * view = applyLastSeen(view, { at: '2026-01-01T00:00:10Z', ages: { 'gw-1': 200 } });
 * ```
 * @public
 */
export function applyLastSeen(view: FleetView, frame: LastSeenFrame): FleetView {
  const at = Date.parse(frame.at);
  if (Number.isNaN(at)) return view;
  let nodes: Map<string, FleetNode> | null = null;
  for (const [id, age] of Object.entries(frame.ages)) {
    const node = view.nodes.get(id);
    if (node === undefined || typeof age !== 'number') continue;
    nodes ??= new Map(view.nodes);
    nodes.set(id, { ...node, last_seen: new Date(at - age).toISOString() });
  }
  return nodes === null ? view : { ...view, nodes };
}

/**
 * How far the control plane's clock is ahead of the page's, from a frame stamped `at` by the
 * control plane and received at `receivedAt` (the page's clock), in milliseconds. Ages are
 * computed as `Date.now() + offset - last_seen`, so a skewed browser clock shows true ages.
 *
 * @example
 * ```ts
 * clockOffset('2026-01-01T00:00:10Z', Date.parse('2026-01-01T00:00:07Z')); // 3000
 * ```
 * @public
 */
export function clockOffset(at: string, receivedAt: number): number {
  const t = Date.parse(at);
  return Number.isNaN(t) ? 0 : t - receivedAt;
}

/** What the page knows beyond the fleet: the stream's `dashboard` frame. @public */
export interface DashboardInfo {
  /** Whether the control plane has an audit log (`GET /v1/audit/recent` answers). */
  readonly audit_log: boolean;
  /** The artifact hashes whose manifests the control plane knows (for file diffs). */
  readonly manifests: readonly string[];
  /** What the page's token may do: `admin` acts, `read` only looks (absent: `admin`). */
  readonly role?: 'admin' | 'read';
}

/**
 * A node's timeline with one row per fact: a `node.state_changed` event announced by another
 * event of the same transition (`drift.detected`, `node.stale`, …: the monitor emits it right
 * after, with the same state) is folded into it. Newest first.
 *
 * @example
 * ```ts
 * timelineRows(view.timelines.get('gw-1') ?? []).map((e) => e.type);
 * ```
 * @public
 */
export function timelineRows(events: readonly FleetEvent[]): FleetEvent[] {
  const rows: FleetEvent[] = [];
  events.forEach((e, i) => {
    const next = events[i + 1];
    const announced =
      e.type === 'node.state_changed' &&
      next !== undefined &&
      next.type !== 'node.state_changed' &&
      next.state === e.state;
    if (!announced) rows.push(e);
  });
  return rows.reverse();
}

/** What a dashboard URL names: an open node and the table's filter. @public */
export interface Place {
  readonly node?: string;
  readonly filter: Filter;
}

/**
 * Reads a place from a URL fragment (`#node=gw-2&cluster=prod&state=drift&q=text`); unknown
 * keys and states are ignored.
 *
 * @example
 * ```ts
 * parsePlace('#node=gw-2&state=drift'); // { node: 'gw-2', filter: { state: 'drift' } }
 * ```
 * @public
 */
export function parsePlace(hash: string): Place {
  const params = new URLSearchParams(hash.replace(/^#/, ''));
  const node = params.get('node');
  const cluster = params.get('cluster');
  const state = params.get('state');
  const text = params.get('q');
  const filter: { cluster?: string; state?: NodeState; text?: string } = {};
  if (cluster !== null && cluster !== '') filter.cluster = cluster;
  if (state !== null && (STATES as readonly string[]).includes(state))
    filter.state = state as NodeState;
  if (text !== null && text !== '') filter.text = text;
  return node === null || node === '' ? { filter } : { node, filter };
}

/**
 * The URL fragment of a place (empty for the unfiltered fleet), the inverse of {@link parsePlace}.
 *
 * @example
 * ```ts
 * formatPlace({ node: 'gw-2', filter: { cluster: 'prod' } }); // '#node=gw-2&cluster=prod'
 * ```
 * @public
 */
export function formatPlace(place: Place): string {
  const params = new URLSearchParams();
  if (place.node !== undefined) params.set('node', place.node);
  if (place.filter.cluster !== undefined) params.set('cluster', place.filter.cluster);
  if (place.filter.state !== undefined) params.set('state', place.filter.state);
  if (place.filter.text !== undefined && place.filter.text !== '')
    params.set('q', place.filter.text);
  const text = params.toString();
  return text === '' ? '' : `#${text}`;
}

/**
 * Why a node is not in sync, in a few words (`null` when it is in sync or there is nothing to
 * say): its last load error for a rejected node, what its live configuration probe found, or
 * that it runs another artifact than it should.
 *
 * @example
 * ```ts
 * nodeWhy(node); // 'load failed: PLB_SEAL_INVALID: seal does not verify'
 * ```
 * @public
 */
export function nodeWhy(node: FleetNode): string | null {
  if (node.state === 'in_sync') return null;
  const error = node.last_load_error;
  if (node.state === 'rejected' && error != null)
    return `load failed: ${error.code}: ${error.message}`;
  const live = node.live_config;
  if (node.state === 'probe_failing')
    return `probe failing${live?.code === undefined ? '' : `: ${live.code}`}`;
  if (node.state === 'reload_pending') return 'reload pending';
  if (node.state === 'drift') {
    if (live?.differences !== undefined && live.differences.length > 0)
      return `live configuration differs: ${live.differences.join(', ')}`;
    if (node.reported_hash !== null && node.desired_hash !== null)
      return `runs ${shortHash(node.reported_hash)}, should run ${shortHash(node.desired_hash)}`;
  }
  if (error != null) return `last load failed: ${error.code}: ${error.message}`;
  return null;
}

/**
 * The name people use for a release, from a node's provenance: the version (a tag ref), the
 * branch, and the commit's short sha (`v1.4.0 @ 0123456`, `main @ 0123456`); `null` without any.
 *
 * @example
 * ```ts
 * releaseName({ ref: 'refs/tags/v1.4.0', commit: '0123456789abcdef' }); // 'v1.4.0 @ 0123456'
 * ```
 * @public
 */
export function releaseName(provenance: Provenance | null | undefined): string | null {
  if (provenance == null) return null;
  const ref = provenance.ref?.replace(/^refs\/(heads|tags)\//, '');
  const commit = provenance.commit?.slice(0, 7);
  if (ref !== undefined && ref !== '' && commit !== undefined) return `${ref} @ ${commit}`;
  return ref !== undefined && ref !== '' ? ref : (commit ?? null);
}

/**
 * The release name of an artifact hash, from the provenance of a node that reports running it
 * (`null` when no node does, or none says).
 *
 * @example
 * ```ts
 * releaseOf(cluster.desired_hash, view.nodes.values());
 * ```
 * @public
 */
export function releaseOf(hash: string | null, nodes: Iterable<FleetNode>): string | null {
  if (hash === null) return null;
  for (const n of nodes) {
    if (n.reported_hash !== hash) continue;
    const name = releaseName(n.provenance);
    if (name !== null) return name;
  }
  return null;
}

/** The `GET /v1/clusters/{cluster}/history` document: core's type. @public */
export type ClusterHistory = CoreClusterHistory;

/** One stacked band of the history chart: a state and its polygon points. @public */
export interface HistoryBand {
  readonly state: NodeState;
  readonly points: string;
}

/**
 * The stacked bands of a cluster's history chart (SVG polygon points in a `width` × `height` box,
 * one band per state that ever had a node, in {@link STATES} order, bottom up).
 *
 * @example
 * ```ts
 * historyBands(history, 600, 120).map((b) => b.state); // ['in_sync', 'drift']
 * ```
 * @public
 */
export function historyBands(
  history: ClusterHistory,
  width: number,
  height: number,
): HistoryBand[] {
  const samples = history.samples;
  if (samples.length === 0) return [];
  const total = historyScale(history);
  const x = (i: number): number =>
    samples.length === 1 ? width : (i / (samples.length - 1)) * width;
  const y = (n: number): number => height - (n / total) * height;
  const base = samples.map(() => 0);
  const bands: HistoryBand[] = [];
  for (const state of STATES) {
    if (!samples.some((s) => s.counts[state] > 0)) continue;
    const top = samples.map((s, i) => base[i]! + s.counts[state]);
    const upper = top.map((v, i) => `${x(i).toFixed(1)},${y(v).toFixed(1)}`);
    const lower = base.map((v, i) => `${x(i).toFixed(1)},${y(v).toFixed(1)}`).reverse();
    bands.push({ state, points: [...upper, ...lower].join(' ') });
    top.forEach((v, i) => (base[i] = v));
  }
  return bands;
}

/** The most nodes of any sample of a history (the chart's vertical scale), at least 1. */
function historyScale(history: ClusterHistory): number {
  return Math.max(1, ...history.samples.map((s) => STATES.reduce((a, st) => a + s.counts[st], 0)));
}

/**
 * The polyline points of the most nodes drifting at once per step, on the scale of
 * {@link historyBands} (a drift shorter than a step shows here even when no sample caught it).
 *
 * @example
 * ```ts
 * peakDriftLine(history, 600, 120); // '0.0,120.0 8.5,60.0 …'
 * ```
 * @public
 */
export function peakDriftLine(history: ClusterHistory, width: number, height: number): string {
  const samples = history.samples;
  const total = historyScale(history);
  return samples
    .map((s, i) => {
      const x = samples.length === 1 ? width : (i / (samples.length - 1)) * width;
      return `${x.toFixed(1)},${(height - (s.peak_drift / total) * height).toFixed(1)}`;
    })
    .join(' ');
}
