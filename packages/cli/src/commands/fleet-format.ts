/** A node as `GET /v1/fleet` lists it (the fields the CLI prints). @internal */
export interface FleetNode {
  node_id: string;
  cluster: string;
  state: string;
  since: string;
  reported_hash: string | null;
  desired_hash: string | null;
  last_seen: string | null;
  /** The last failed load the node reported (code and message of its verification). */
  last_load_error?: { artifact_hash: string; code: string; message: string; at: string } | null;
  /** The verification checks the node's `warn` policy tolerated on the artifact it runs. */
  verification_reasons?: { rule: string; code: string; message: string }[];
}

/** A cluster as `GET /v1/fleet` lists it. @internal */
export interface FleetCluster {
  cluster: string;
  desired_hash: string | null;
  rollout: { deadline?: string; status?: string } | null;
  counts: Record<string, number>;
}

const STATE_COLOUR: Readonly<Record<string, string>> = {
  in_sync: '\u001b[32m',
  pending: '\u001b[36m',
  drift: '\u001b[31m',
  rejected: '\u001b[31m',
  stale: '\u001b[33m',
  disconnected: '\u001b[33m',
  never_seen: '\u001b[35m',
  unknown: '\u001b[90m',
};
const RESET = '\u001b[0m';

function shortHash(hash: string | null): string {
  return hash === null ? '-' : `${hash.slice(0, 19)}…`;
}

/**
 * A duration as kubectl prints ages: `45s`, `3m`, `2h`, `4d` (the largest whole unit); `-` for an
 * unknown or future time.
 *
 * @internal
 */
export function formatAge(fromIso: string | null, nowMs: number): string {
  if (fromIso === null) return '-';
  const from = Date.parse(fromIso);
  if (!Number.isFinite(from) || from > nowMs) return from > nowMs ? '0s' : '-';
  const s = Math.floor((nowMs - from) / 1000);
  if (s < 120) return `${s}s`;
  if (s < 7200) return `${Math.floor(s / 60)}m`;
  if (s < 172_800) return `${Math.floor(s / 3600)}h`;
  return `${Math.floor(s / 86_400)}d`;
}

/** Keeps untrusted text on one line and short: control characters become spaces. */
function oneLine(text: string, max = 160): string {
  // eslint-disable-next-line no-control-regex
  const flat = text.replace(/[\u0000-\u001f\u007f-\u009f]+/g, ' ').trim();
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
}

/**
 * Why a node is in its state, in a few words: the load error it reported (the verification that
 * failed), what it runs against what it should, how long it has been silent, and the verification
 * checks its `warn` policy tolerated.
 *
 * @internal
 */
export function nodeWhy(node: FleetNode, nowMs: number): string {
  const error = node.last_load_error;
  const loadError = error
    ? `load of ${shortHash(error.artifact_hash)} failed: ${error.code}: ${oneLine(error.message)}`
    : '';
  const silent = `last seen ${formatAge(node.last_seen, nowMs)} ago`;
  let why: string;
  switch (node.state) {
    case 'drift':
      why =
        node.reported_hash === null
          ? 'reports no verified artifact'
          : `runs ${shortHash(node.reported_hash)}, not the desired ${shortHash(node.desired_hash)}`;
      break;
    case 'rejected':
      why = loadError === '' ? 'failed to load the desired artifact' : '';
      break;
    case 'pending':
      why = 'rollout in progress: still on the previous artifact';
      break;
    case 'stale':
      why = `heartbeats missed, ${silent}`;
      break;
    case 'disconnected':
      why = `session closed, ${silent}`;
      break;
    case 'never_seen':
      why = 'expected, never connected';
      break;
    case 'unknown':
      why = 'no desired artifact for its cluster (plumbline fleet set-desired)';
      break;
    default:
      why = '';
  }
  const reasons = node.verification_reasons ?? [];
  const tolerated =
    reasons.length === 0
      ? ''
      : `verification failed (tolerated by the warn policy): ${reasons
          .map((r) => `${r.code}: ${oneLine(r.message)}`)
          .join('; ')}`;
  return [why, loadError, tolerated].filter((part) => part !== '').join('; ');
}

function table(rows: readonly string[][], colourColumn: number, colour: boolean): string[] {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows.map((row, r) =>
    row
      .map((cell, i) => {
        const padded = i === row.length - 1 ? cell : cell.padEnd(widths[i]!);
        if (colour && r > 0 && i === colourColumn && STATE_COLOUR[cell]) {
          return `${STATE_COLOUR[cell]}${padded}${RESET}`;
        }
        return padded;
      })
      .join('  ')
      .trimEnd(),
  );
}

/**
 * Formats the fleet document as text: one line per cluster, then a table of nodes with the age of
 * their state and why they are in it.
 *
 * @internal
 */
export function formatFleet(
  fleet: { clusters: readonly FleetCluster[]; nodes: readonly FleetNode[] },
  colour: boolean,
  nowMs: number = Date.now(),
): string[] {
  const lines: string[] = [];
  for (const c of fleet.clusters) {
    const counts = Object.entries(c.counts)
      .filter(([, n]) => n > 0)
      .map(([state, n]) => `${state}=${n}`)
      .join(' ');
    const rollout = c.rollout
      ? ` rollout ${c.rollout.status ?? ''} until ${c.rollout.deadline ?? '?'}`
      : '';
    lines.push(
      `cluster ${c.cluster}: desired ${shortHash(c.desired_hash)}${rollout}  ${counts || 'no nodes'}`,
    );
  }
  if (fleet.nodes.length > 0) {
    lines.push('');
    const rows = [['NODE', 'CLUSTER', 'STATE', 'AGE', 'REPORTED', 'DESIRED', 'LAST SEEN', 'WHY']];
    for (const n of fleet.nodes) {
      rows.push([
        n.node_id,
        n.cluster,
        n.state,
        formatAge(n.since, nowMs),
        shortHash(n.reported_hash),
        shortHash(n.desired_hash),
        n.last_seen === null ? '-' : `${formatAge(n.last_seen, nowMs)} ago`,
        nodeWhy(n, nowMs) || '-',
      ]);
    }
    lines.push(...table(rows, 2, colour));
  }
  return lines;
}

/**
 * Formats one node (`GET /v1/fleet/nodes/{id}`) as `key: value` lines, with `age` and `why` after
 * its state.
 *
 * @internal
 */
export function formatNode(node: Record<string, unknown>, nowMs: number = Date.now()): string[] {
  const lines: string[] = [];
  for (const [key, value] of Object.entries(node)) {
    lines.push(`${key}: ${typeof value === 'string' ? value : JSON.stringify(value)}`);
    if (key === 'state') {
      const n = node as unknown as FleetNode;
      lines.push(`age: ${formatAge(n.since ?? null, nowMs)}`);
      lines.push(`why: ${nodeWhy(n, nowMs) || '-'}`);
    }
  }
  return lines;
}
