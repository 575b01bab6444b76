/**
 * Announcements: the typed events to listeners, the alert events to sinks, and the fleet audit
 * events (`fleet.node_state_changed`, `drift.detected`, `drift.resolved`).
 *
 * @internal
 * @packageDocumentation
 */
import type { AuditActor, AuditEventInput, AuditLogger } from '../../audit/index.js';
import { driftDetected, driftResolved, nodeStateChanged } from '../../audit/catalogue.js';
import { PlumblineError } from '../../errors.js';
import type { DigestString } from '../../hash/digest.js';
import type { Clock } from '../clock.js';
import { ALERT_EVENT_TYPES } from '../events.js';
import type { FleetEvent, FleetEventType } from '../events.js';
import type { MonitorLogger } from '../monitor-types.js';
import type { AlertSink } from '../sink.js';
import { iso, type NodeRecord } from './records.js';
import type { NodeState } from './state.js';
import { sha256 } from '../../hash/select.js';
import { toHex } from '../../encoding/hex.js';
import { utf8 } from '../../encoding/utf8.js';

/**
 * The event id of a fact every replica sees the same way (a UUID-shaped digest of its key), so a
 * receiver can deduplicate it whichever replica announced it.
 *
 * @internal
 */
export function factEventId(key: string): string {
  const h = toHex(sha256(utf8(key)));
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-8${h.slice(13, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}`;
}

/**
 * The event id of a desired-state change: derived from the change as the store recorded it, so the
 * alert, its audit event and every replica carry the same id (a cleared and re-set cluster starts
 * its versions again; the change time tells those apart).
 *
 * @example
 * ```ts
 * import { desiredEventId } from '@plumbline/core/drift';
 * const id = desiredEventId({ cluster: 'prod', version: 3, changed_at: '2026-12-07T10:00:00.000Z' });
 * ```
 * @public
 */
export function desiredEventId(desired: {
  readonly cluster: string;
  readonly version: number;
  readonly changed_at: string;
}): string {
  return factEventId(
    `desired_state.changed|${desired.cluster}|${desired.version}|${desired.changed_at}`,
  );
}

/**
 * The event id of clearing a cluster's desired state: derived from the desired state cleared, so
 * the alert and its audit event carry the same id.
 *
 * @internal
 */
export function desiredClearedEventId(cleared: {
  readonly cluster: string;
  readonly version: number;
  readonly changed_at: string;
}): string {
  return factEventId(
    `desired_state.changed|${cleared.cluster}|cleared|${cleared.version}|${cleared.changed_at}`,
  );
}

type Listener = (event: FleetEvent) => void;

/** Where the announcer sends what it announces. @internal */
export interface AnnouncerOptions {
  readonly clock: Clock;
  readonly sinks: readonly AlertSink[];
  readonly newEventId: () => string;
  readonly logger: MonitorLogger | undefined;
  readonly audit: AuditLogger | undefined;
  /** The desired hash of a node (its pin's, else its cluster's). */
  readonly desiredFor: (node: NodeRecord) => DigestString | null;
}

/**
 * Listeners, sinks and the audit trail of one monitor.
 *
 * @internal
 */
export class Announcer {
  readonly #o: AnnouncerOptions;
  readonly #listeners = new Map<FleetEventType | '*', Set<Listener>>();
  readonly #alertTypes = new Set<FleetEventType>(ALERT_EVENT_TYPES);
  listenerErrors = 0;
  auditErrors = 0;

  constructor(options: AnnouncerOptions) {
    this.#o = options;
  }

  get sinks(): readonly AlertSink[] {
    return this.#o.sinks;
  }

  get audit(): AuditLogger | undefined {
    return this.#o.audit;
  }

  newEventId(): string {
    return this.#o.newEventId();
  }

  listen(key: FleetEventType | '*', listener: Listener): () => void {
    let set = this.#listeners.get(key);
    if (set === undefined) {
      set = new Set();
      this.#listeners.set(key, set);
    }
    set.add(listener);
    return () => {
      set.delete(listener);
    };
  }

  emit(event: FleetEvent): void {
    const call = (set: Set<Listener> | undefined): void => {
      if (set === undefined) return;
      for (const listener of set) {
        try {
          listener(event);
        } catch (error) {
          this.listenerErrors++;
          this.warn('a fleet event listener threw', error);
        }
      }
    };
    call(this.#listeners.get(event.type));
    call(this.#listeners.get('*'));
    if (this.#alertTypes.has(event.type)) {
      for (const sink of this.#o.sinks) {
        try {
          sink.send(event);
        } catch (error) {
          this.listenerErrors++;
          this.warn(`alert sink ${sink.name} threw`, error);
        }
      }
    }
  }

  warn(message: string, error: unknown): void {
    const logger = this.#o.logger;
    if (logger === undefined) return;
    try {
      logger.warn(message, {
        code: PlumblineError.is(error) ? error.code : undefined,
        error: error instanceof Error ? error.message : String(error),
      });
    } catch {
      // A logger never throws into the monitor.
    }
  }

  /** Writes an audit event without waiting; a failure is counted and logged. */
  auditLater(event: AuditEventInput): void {
    const audit = this.#o.audit;
    if (audit === undefined) return;
    try {
      audit.emit(event).catch((error: unknown) => {
        this.auditErrors++;
        this.warn('an audit event could not be written', error);
      });
    } catch (error) {
      this.auditErrors++;
      this.warn('an audit event could not be written', error);
    }
  }

  /** The fields every event about one node carries. */
  nodeEvent<T extends FleetEventType>(node: NodeRecord, type: T) {
    return {
      type,
      id: this.#o.newEventId(),
      at: iso(this.#o.clock.now()),
      node_id: node.node_id,
      cluster: node.cluster.name,
      state: node.state,
      reported_hash: node.reported,
      desired_hash: this.#o.desiredFor(node),
      instance_id: node.instance_id,
    };
  }

  /**
   * Emits the alert events for the change from the last announced state to the current one, and
   * writes the fleet audit events carrying the ids of those alerts (the same fact has the same id
   * in the audit trail as on the webhook, in the log and on the event stream).
   */
  announce(node: NodeRecord, now: number): void {
    const from = node.announced;
    const to = node.state;
    if (from === to) return;
    node.announced = to;
    // The drift episode, not the last announced state, decides: an episode stays open through
    // liveness states and states that do not resolve it, whatever replica holds the node.
    const open = node.driftOpen;
    const driftMs =
      open && (from === 'drift' || resolvesDrift(to))
        ? Math.max(0, now - node.driftSince)
        : undefined;
    let resolved: FleetEvent | null = null;
    if (open && resolvesDrift(to)) {
      resolved = { ...this.nodeEvent(node, 'drift.resolved'), drift_since: iso(node.driftSince) };
      node.driftOpen = false;
      this.emit(resolved);
    }
    // A node that comes back still drifting raises nothing new: its episode's alert was raised.
    const alert = to === 'drift' && open ? null : this.#alertFor(node, from, to);
    if (to === 'drift' && !open) {
      // The episode starts when its drift.detected says it did (`drift_since` of its resolution).
      node.driftOpen = true;
      node.driftSince = alert === null ? now : Date.parse(alert.at);
    }
    if (alert !== null) this.emit(alert);
    if (this.#o.audit !== undefined) {
      this.#auditTransition(node, { from, to, now, driftMs, resolved, alert });
    }
  }

  /**
   * Announces a node the expected inventory names and no replica has seen: its `node.never_seen`
   * alert, and the audit event of its entry into the fleet carrying the alert's id.
   */
  announceNeverSeen(node: NodeRecord): void {
    const alert = this.nodeEvent(node, 'node.never_seen');
    this.emit(alert);
    if (this.#o.audit === undefined) return;
    this.auditLater(
      nodeStateChanged({
        actor: { type: 'system', id: 'fleet-monitor' },
        time: alert.at,
        details: {
          node_id: node.node_id,
          cluster: node.cluster.name,
          from: null,
          to: 'never_seen',
          reported_hash: null,
          desired_hash: this.#o.desiredFor(node),
          event_id: alert.id,
        },
      }),
    );
  }

  #alertFor(node: NodeRecord, from: NodeState, to: NodeState): FleetEvent | null {
    const lastSeen = node.last_seen < 0 ? null : iso(node.last_seen);
    switch (to) {
      case 'drift':
        return {
          ...this.nodeEvent(node, 'drift.detected'),
          from,
          provenance: node.provenance,
          workers: node.workers,
          ...(node.live !== null &&
          node.live.expected_digest !== null &&
          node.live.digest !== node.live.expected_digest
            ? { live_config: node.live }
            : {}),
        };
      case 'probe_failing':
        return { ...this.nodeEvent(node, 'node.probe_failing'), from, live_config: node.live };
      case 'rejected':
        return {
          ...this.nodeEvent(node, 'node.rejected'),
          from,
          last_load_error: node.last_load_error,
        };
      case 'stale':
        return { ...this.nodeEvent(node, 'node.stale'), from, last_seen: lastSeen };
      case 'disconnected':
        return {
          ...this.nodeEvent(node, 'node.disconnected'),
          from,
          last_seen: lastSeen,
          close_code: node.closeCode,
        };
      case 'never_seen':
        return this.nodeEvent(node, 'node.never_seen');
      default:
        return null;
    }
  }

  #auditTransition(node: NodeRecord, t: AuditedTransition): void {
    const actor: AuditActor = { type: 'system', id: 'fleet-monitor' };
    const time = iso(t.now);
    const base = {
      node_id: node.node_id,
      cluster: node.cluster.name,
      reported_hash: node.reported,
      desired_hash: this.#o.desiredFor(node),
      ...(node.instance_id === null ? {} : { instance_id: node.instance_id }),
    };
    const duration = t.driftMs === undefined ? {} : { drift_duration_ms: t.driftMs };
    // The alert this transition raised (or the drift it resolved), whose id the audit records.
    const eventOf = t.alert ?? t.resolved;
    this.auditLater(
      nodeStateChanged({
        actor,
        time,
        details: {
          ...base,
          from: t.from,
          to: t.to,
          ...duration,
          ...(eventOf === null ? {} : { event_id: eventOf.id }),
        },
      }),
    );
    if (t.to === 'drift' && t.alert !== null) {
      this.auditLater(driftDetected({ actor, time, details: { ...base, event_id: t.alert.id } }));
    }
    if (t.resolved !== null) {
      this.auditLater(
        driftResolved({
          actor,
          time,
          details: { ...base, ...duration, event_id: t.resolved.id },
        }),
      );
    }
  }
}

/** One announced transition, as the audit trail records it. */
interface AuditedTransition {
  readonly from: NodeState;
  readonly to: NodeState;
  readonly now: number;
  /** How long the node drifted, when it leaves `drift`. */
  readonly driftMs: number | undefined;
  readonly resolved: FleetEvent | null;
  readonly alert: FleetEvent | null;
}

/**
 * Whether leaving `drift` for `to` resolves it: the node runs what it should (or a rollout allows
 * it, or nothing is desired), including a live configuration that matches again with a reload
 * pending. Liveness states and a failing probe do not: what the node runs is then unknown.
 */
function resolvesDrift(to: NodeState): boolean {
  return to === 'in_sync' || to === 'pending' || to === 'unknown' || to === 'reload_pending';
}
