/**
 * A drift transport that speaks Barbacane's data-plane WebSocket protocol, so unmodified
 * Barbacane gateways report to a Plumbline control plane.
 *
 * @packageDocumentation
 */
import {
  serveDrift,
  type DriftServer,
  type FleetMonitor,
  type ServeDriftOptions,
} from '@plumbline/core/drift';
import type { AuditLogger } from '@plumbline/core/audit';
import { createTransportFromSteps } from './transport-core.js';
import { BARBACANE_STEPS } from './transport-steps.js';
import type { BarbacaneTransport, BarbacaneTransportOptions } from './transport-options.js';

export {
  BARBACANE_DATA_PLANE_PATH,
  type BarbacaneTransport,
  type BarbacaneTransportOptions,
} from './transport-options.js';

/**
 * Creates a drift transport (`DriftTransport`) speaking Barbacane's data-plane protocol on `/ws/data-plane`.
 * A data plane's `register` is authenticated by its project id and API key (compared as SHA-256
 * in constant time); a key bound to a node name makes the data plane that node. The node's
 * identity is its name, so it keeps its state across reconnects. The transport turns `register`
 * into a Plumbline `hello`, each `heartbeat` into a `heartbeat` (with a rising `seq`), and
 * `artifact_downloaded` into a heartbeat carrying (or clearing) `last_load_error`; it answers
 * `registered` (with the monitor's heartbeat interval in seconds and a stable `data_plane_id`),
 * `heartbeat_ack` with `drift_detected` from the node's state against the declared desired state,
 * and `registration_failed`, `disconnect` or `error` before a close. Run it with core's
 * `serveDrift` (or {@link serveBarbacane}).
 *
 * @example
 * ```ts
 * const transport = createBarbacaneTransport({ credentials, monitor, port: 9090 });
 * const server = serveDrift({ transport, monitor });
 * await server.start();
 * console.log(transport.url);
 * ```
 * @throws PlumblineError `PLB_BARBACANE_CREDENTIALS` for bad credentials, `PLB_USAGE` for bad limits.
 * @public
 */
export function createBarbacaneTransport(options: BarbacaneTransportOptions): BarbacaneTransport {
  return createTransportFromSteps(options, BARBACANE_STEPS);
}

/**
 * Options of {@link serveBarbacane}.
 *
 * @public
 */
export interface ServeBarbacaneOptions extends BarbacaneTransportOptions {
  /** The fleet monitor. */
  readonly monitor: FleetMonitor;
  /** Audit logger (`session.accepted` / `session.rejected`). */
  readonly audit?: AuditLogger;
  /** Called for every refused session (a name collision included), never with secrets. */
  readonly onRejected?: ServeDriftOptions['onRejected'];
  /** Called once when two gateways are found sharing a name (see `serveDrift`'s `collision`). */
  readonly onCollision?: ServeDriftOptions['onCollision'];
}

/**
 * Starts a Barbacane data-plane endpoint feeding a fleet monitor: {@link createBarbacaneTransport}
 * run by core's `serveDrift`. Plug it next to the Plumbline WebSocket endpoint (same monitor) to
 * monitor a mixed fleet.
 *
 * @example
 * ```ts
 * const monitor = await FleetMonitor.create({ heartbeatIntervalMs: 30_000 });
 * const { transport, server } = await serveBarbacane({ monitor, credentials, port: 9090 });
 * console.log(transport.url); // ws://127.0.0.1:9090/ws/data-plane
 * await server.close();
 * ```
 * @throws PlumblineError `PLB_BARBACANE_LISTEN` when the port cannot be bound, and the codes of
 *   {@link createBarbacaneTransport}.
 * @public
 */
export async function serveBarbacane(
  options: ServeBarbacaneOptions,
): Promise<{ transport: BarbacaneTransport; server: DriftServer }> {
  const transport = createBarbacaneTransport(options);
  const server = serveDrift({
    transport,
    monitor: options.monitor,
    ...(options.audit === undefined ? {} : { audit: options.audit }),
    ...(options.onRejected === undefined ? {} : { onRejected: options.onRejected }),
    ...(options.onCollision === undefined ? {} : { onCollision: options.onCollision }),
  });
  await server.start();
  return { transport, server };
}
