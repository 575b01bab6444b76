import type { DigestString } from '../hash/digest.js';
import {
  NODE_STATES,
  type DesiredFacts,
  type NodeFacts,
  type NodeState,
} from '../drift/monitor/state.js';
import {
  checkEqual,
  clauseTest,
  suiteContext,
  type ConformanceOptions,
  type ContractClause,
} from './api.js';

/**
 * A node-state rule: what a store's sweep (or any replacement of the monitor's judgement) decides
 * for one node. Core's is `decideNodeState`.
 *
 * @public
 */
export type NodeStateRule = (node: NodeFacts, target: DesiredFacts) => NodeState;

/**
 * The rules of the fleet state decision (docs/protocol.md "Fleet states") that
 * `describeNodeStateRuleConformance` checks, each named in the failures it causes.
 *
 * @public
 */
export const STATE_RULE_CLAUSES = {
  liveness: {
    id: 'state-rule.liveness',
    text:
      'liveness comes first: not connected is never_seen (never seen) or disconnected, a ' +
      'connected node that missed its heartbeats is stale, whatever it runs',
  },
  awaiting: {
    id: 'state-rule.awaiting-report',
    text:
      'a connected node that has not reported what it runs is awaiting_report: never judged, ' +
      'never drift',
  },
  unknown: {
    id: 'state-rule.unknown',
    text: 'a node with no desired state and no pin is unknown, whatever it runs',
  },
  inSync: {
    id: 'state-rule.in-sync',
    text: 'in_sync only when the node and every one of its workers run exactly the desired artifact',
  },
  rejected: {
    id: 'state-rule.rejected',
    text:
      'a node not running the desired artifact whose last failed load is of that artifact is ' +
      'rejected (a failed load of another artifact does not count)',
  },
  pending: {
    id: 'state-rule.pending',
    text:
      'during a rollout in progress, a node that is not pinned running the previous or the new ' +
      'artifact (every worker included) is pending; after the rollout, or when pinned, it is drift',
  },
  drift: {
    id: 'state-rule.drift',
    text: 'anything else a connected, reporting node runs against a desired artifact is drift',
  },
} as const satisfies Record<string, ContractClause>;

const A = `sha256:${'a'.repeat(64)}` as DigestString;
const B = `sha256:${'b'.repeat(64)}` as DigestString;
const C = `sha256:${'c'.repeat(64)}` as DigestString;
const AT = '2026-01-01T00:00:00Z';

const live: NodeFacts = {
  connected: true,
  seen: true,
  stale: false,
  awaitingReport: false,
  reported: A,
  workers: null,
  last_load_error: null,
};
const wants = (desired: DigestString | null, extra: Partial<DesiredFacts> = {}): DesiredFacts => ({
  desired,
  pinned: false,
  rollout: null,
  ...extra,
});
const rolling = (previous: DigestString | null, status = 'in_progress' as const) =>
  ({ previous_hash: previous, status }) as DesiredFacts['rollout'];
const failed = (hash: DigestString) => ({
  artifact_hash: hash,
  code: 'PLB_X',
  message: 'x',
  at: AT,
});
const workers = (...hashes: DigestString[]) =>
  hashes.map((h, i) => ({ id: `w${i}`, artifact_hash: h }));

type Case = readonly [string, Partial<NodeFacts>, DesiredFacts, NodeState];

const CASES: Record<keyof typeof STATE_RULE_CLAUSES, readonly Case[]> = {
  liveness: [
    ['never seen, not connected', { connected: false, seen: false }, wants(A), 'never_seen'],
    ['seen, not connected, in sync before', { connected: false }, wants(A), 'disconnected'],
    [
      'seen, not connected, drifting before',
      { connected: false, reported: B },
      wants(A),
      'disconnected',
    ],
    ['not connected and stale', { connected: false, stale: true }, wants(A), 'disconnected'],
    ['connected, stale, runs the desired', { stale: true }, wants(A), 'stale'],
    ['connected, stale, runs another', { stale: true, reported: B }, wants(A), 'stale'],
    ['connected, stale, no desired state', { stale: true }, wants(null), 'stale'],
  ],
  awaiting: [
    [
      'awaiting, nothing reported',
      { awaitingReport: true, reported: null },
      wants(A),
      'awaiting_report',
    ],
    [
      'awaiting, no desired state',
      { awaitingReport: true, reported: null },
      wants(null),
      'awaiting_report',
    ],
    [
      'awaiting, a failed load',
      { awaitingReport: true, reported: null, last_load_error: failed(A) },
      wants(A),
      'awaiting_report',
    ],
  ],
  unknown: [
    ['no desired state', {}, wants(null), 'unknown'],
    ['no desired state, nothing loaded', { reported: null }, wants(null), 'unknown'],
  ],
  inSync: [
    ['runs the desired', {}, wants(A), 'in_sync'],
    ['runs the desired, all workers too', { workers: workers(A, A) }, wants(A), 'in_sync'],
    ['runs the pin', { reported: B }, wants(B, { pinned: true }), 'in_sync'],
    ['runs the desired during its rollout', {}, wants(A, { rollout: rolling(B) }), 'in_sync'],
    ['an old failed load, now in sync', { last_load_error: failed(A) }, wants(A), 'in_sync'],
    ['one worker runs another', { workers: workers(A, B) }, wants(A), 'drift'],
  ],
  rejected: [
    [
      'failed to load the desired',
      { reported: B, last_load_error: failed(A) },
      wants(A),
      'rejected',
    ],
    [
      'failed to load the desired, nothing loaded',
      { reported: null, last_load_error: failed(A) },
      wants(A),
      'rejected',
    ],
    [
      'failed to load the pin',
      { reported: A, last_load_error: failed(B) },
      wants(B, { pinned: true }),
      'rejected',
    ],
  ],
  pending: [
    ['previous during the rollout', { reported: B }, wants(A, { rollout: rolling(B) }), 'pending'],
    [
      'workers mixed between previous and new',
      { reported: A, workers: workers(A, B) },
      wants(A, { rollout: rolling(B) }),
      'pending',
    ],
    [
      'previous after the deadline',
      { reported: B },
      wants(A, { rollout: rolling(B, 'deadline_exceeded' as 'in_progress') }),
      'drift',
    ],
    [
      'previous after completion',
      { reported: B },
      wants(A, { rollout: rolling(B, 'completed' as 'in_progress') }),
      'drift',
    ],
    [
      'pinned during a rollout',
      { reported: B },
      wants(A, { pinned: true, rollout: rolling(B) }),
      'drift',
    ],
    [
      'a third artifact during the rollout',
      { reported: C },
      wants(A, { rollout: rolling(B) }),
      'drift',
    ],
    [
      'a worker on a third artifact',
      { reported: B, workers: workers(B, C) },
      wants(A, { rollout: rolling(B) }),
      'drift',
    ],
  ],
  drift: [
    ['runs another', { reported: B }, wants(A), 'drift'],
    ['runs nothing', { reported: null }, wants(A), 'drift'],
    [
      'failed to load another artifact',
      { reported: B, last_load_error: failed(C) },
      wants(A),
      'drift',
    ],
    ['runs the cluster desired, not its pin', { reported: A }, wants(B, { pinned: true }), 'drift'],
  ],
};

/**
 * Registers the node-state rule conformance suite: a table of facts and the state docs/protocol.md
 * gives them, per clause ({@link STATE_RULE_CLAUSES}), plus purity (the same facts give the same
 * state, and the facts are left unchanged). Run it against a store's sweep rule.
 *
 * @example
 * ```ts
 * import { decideNodeState } from '@plumbline/core/drift';
 * import { describeNodeStateRuleConformance } from '@plumbline/core/testing';
 * await describeNodeStateRuleConformance('core', decideNodeState);
 * ```
 * @public
 */
export async function describeNodeStateRuleConformance(
  name: string,
  rule: NodeStateRule,
  options: ConformanceOptions = {},
): Promise<void> {
  const { api, timeout } = await suiteContext(options);
  api.describe(`node-state rule conformance: ${name}`, () => {
    for (const [key, cases] of Object.entries(CASES)) {
      const clause = STATE_RULE_CLAUSES[key as keyof typeof STATE_RULE_CLAUSES];
      clauseTest(
        api,
        clause,
        `decides ${cases.length} cases of ${clause.id.slice('state-rule.'.length)}`,
        async () => {
          for (const [what, facts, target, expected] of cases) {
            const node = Object.freeze({ ...live, ...facts });
            const frozen = Object.freeze({ ...target });
            const first = rule(node, frozen);
            checkEqual(first, expected, `the state of a node that ${what}`);
            checkEqual(rule(node, frozen), first, `the state of the same facts, asked again`);
            checkEqual(NODE_STATES.includes(first), true, `${first} is a fleet state`);
          }
        },
        timeout,
      );
    }
  });
}
