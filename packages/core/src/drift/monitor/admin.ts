/**
 * Configuration: desired states (with their rollout windows), per-node pins and the expected
 * inventory. Each is checked, written to the store (the change feed then applies it on every
 * replica) and audited by the replica that made it.
 *
 * @internal
 * @packageDocumentation
 */
import type { AuditActor } from '../../audit/index.js';
import { desiredStateChanged, expectedNodesChanged } from '../../audit/catalogue.js';
import { PlumblineError } from '../../errors.js';
import { isDigestString } from '../../hash/digest.js';
import type { SetDesiredOptions } from '../monitor-types.js';
import type { DesiredState, NodePin, Rollout } from '../store.js';
import type { Fleet } from './fleet.js';
import { desiredClearedEventId, desiredEventId } from './announce.js';
import { iso } from './records.js';
import { checkName, parseDeadline } from './validate.js';

function checkOpen(fleet: Fleet): void {
  if (fleet.closed)
    throw new PlumblineError('PLB_DRIFT_MONITOR_CLOSED', 'the fleet monitor is closed');
}

function checkDigest(value: string): void {
  if (!isDigestString(value)) {
    throw new PlumblineError('PLB_INVALID_DIGEST', 'artifact_hash is not a sha256 digest string');
  }
}

/** The rollout window a desired state asks for, or `null` for an immediate change. */
function rolloutOf(fleet: Fleet, options: SetDesiredOptions, now: number): Rollout | null {
  if (options.rollout === undefined) return null;
  const { deadline, graceMs } = options.rollout;
  let deadlineMs: number;
  if (deadline !== undefined) deadlineMs = parseDeadline(deadline);
  else if (graceMs !== undefined && Number.isFinite(graceMs) && graceMs > 0)
    deadlineMs = now + graceMs;
  else {
    throw new PlumblineError(
      'PLB_DRIFT_INVALID_ROLLOUT',
      'a rollout needs a deadline or a positive graceMs',
    );
  }
  if (deadlineMs <= now) {
    throw new PlumblineError('PLB_DRIFT_INVALID_ROLLOUT', 'a rollout deadline is in the past');
  }
  return {
    previous_hash: fleet.clusters.get(options.cluster)?.desired?.artifact_hash ?? null,
    started_at: iso(now),
    deadline: iso(deadlineMs),
  };
}

/** See {@link FleetMonitor.setDesired}. @internal */
export async function setDesired(fleet: Fleet, options: SetDesiredOptions): Promise<DesiredState> {
  checkOpen(fleet);
  const reason = fleet.redactText(options.reason);
  checkDigest(options.artifact_hash);
  checkName(options.cluster, 'cluster');
  const now = fleet.clock.now();
  const rollout = rolloutOf(fleet, options, now);
  const actor: AuditActor = { type: options.actor_type ?? 'user', id: options.actor };
  const previous = fleet.clusters.get(options.cluster)?.desired?.artifact_hash ?? null;
  const auditInput = (outcome: 'success' | 'failure', reason: string) =>
    desiredStateChanged({
      actor,
      outcome,
      reason,
      time: iso(now),
      details: {
        cluster: options.cluster,
        previous_hash: previous,
        artifact_hash: options.artifact_hash,
        ...(rollout === null
          ? {}
          : { deadline_seconds: Math.ceil((Date.parse(rollout.deadline) - now) / 1000) }),
      },
    });
  let desired: DesiredState;
  try {
    desired = await fleet.store.setDesired({
      cluster: options.cluster,
      artifact_hash: options.artifact_hash,
      actor: options.actor,
      reason,
      changed_at: iso(now),
      rollout,
      ...(options.expected_version === undefined
        ? {}
        : { expected_version: options.expected_version }),
    });
  } catch (error) {
    const code = PlumblineError.is(error) ? error.code : 'PLB_STORE_IO';
    fleet.announcer.auditLater(auditInput('failure', `${reason} (${code})`));
    throw error;
  }
  const success = auditInput('success', reason);
  // The alert's id derives from the fact, whatever the store: the audit event carries it too.
  await fleet.announcer.audit?.emit({
    ...success,
    details: { ...success.details, event_id: desiredEventId(desired) },
  });
  return desired;
}

/** See {@link FleetMonitor.clearDesired}. @internal */
export async function clearDesired(fleet: Fleet, cluster: string, actor: string): Promise<void> {
  checkOpen(fleet);
  const cleared = fleet.clusters.get(cluster)?.desired ?? null;
  await fleet.store.clearDesired(cluster, actor);
  if (cleared === null) return;
  await fleet.announcer.audit?.emit(
    desiredStateChanged({
      actor: { type: 'user', id: actor },
      reason: 'desired state cleared',
      time: iso(fleet.clock.now()),
      details: {
        cluster,
        previous_hash: cleared.artifact_hash,
        artifact_hash: null,
        event_id: desiredClearedEventId(cleared),
      },
    }),
  );
}

/** See {@link FleetMonitor.pin}. @internal */
export async function pinNode(fleet: Fleet, input: Omit<NodePin, 'pinned_at'>): Promise<void> {
  checkOpen(fleet);
  const pin = { ...input, reason: fleet.redactText(input.reason) };
  checkDigest(pin.artifact_hash);
  checkName(pin.node_id, 'node_id');
  checkName(pin.cluster, 'cluster');
  const previous = fleet.desiredFor(fleet.nodes.get(pin.node_id) ?? null, pin.cluster);
  await fleet.store.setPin({ ...pin, pinned_at: iso(fleet.clock.now()) });
  await fleet.announcer.audit?.emit(
    desiredStateChanged({
      actor: { type: 'user', id: pin.actor },
      reason: pin.reason,
      subject: { type: 'node', id: pin.node_id },
      time: iso(fleet.clock.now()),
      details: {
        cluster: pin.cluster,
        previous_hash: previous,
        artifact_hash: pin.artifact_hash,
      },
    }),
  );
}

/** See {@link FleetMonitor.unpin}. @internal */
export async function unpinNode(fleet: Fleet, node_id: string, actor: string): Promise<void> {
  checkOpen(fleet);
  const pin = fleet.pins.get(node_id);
  await fleet.store.removePin(node_id, actor);
  if (pin === undefined) return;
  await fleet.announcer.audit?.emit(
    desiredStateChanged({
      actor: { type: 'user', id: actor },
      reason: 'pin removed',
      subject: { type: 'node', id: node_id },
      time: iso(fleet.clock.now()),
      details: {
        cluster: pin.cluster,
        previous_hash: pin.artifact_hash,
        artifact_hash: fleet.clusters.get(pin.cluster)?.desired?.artifact_hash ?? null,
      },
    }),
  );
}

/** See {@link FleetMonitor.setExpectedNodes}. @internal */
export async function setExpectedNodes(
  fleet: Fleet,
  cluster: string,
  nodes: readonly string[],
  actor: string,
): Promise<void> {
  checkOpen(fleet);
  checkName(cluster, 'cluster');
  const max = fleet.limits.maxExpected;
  if (nodes.length > max) {
    throw new PlumblineError(
      'PLB_LIMIT_EXPECTED_NODES',
      `more than ${max} expected nodes in one cluster`,
      { details: { limit: max } },
    );
  }
  for (const node of nodes) checkName(node, 'node_id');
  const next = [...new Set(nodes)].sort();
  const before = fleet.clusters.get(cluster)?.expected ?? new Set<string>();
  await fleet.store.setExpected({
    cluster,
    nodes: next,
    actor,
    changed_at: iso(fleet.clock.now()),
  });
  const nextSet = new Set(next);
  await fleet.announcer.audit?.emit(
    expectedNodesChanged({
      actor: { type: 'user', id: actor },
      time: iso(fleet.clock.now()),
      details: {
        cluster,
        added: next.filter((id) => !before.has(id)),
        removed: [...before].filter((id) => !nextSet.has(id)).sort(),
      },
    }),
  );
}
