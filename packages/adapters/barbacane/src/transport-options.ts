/**
 * The options and the shape of the Barbacane transport.
 *
 * @packageDocumentation
 */
import type { DriftTransport, FleetMonitor } from '@plumbline/core/drift';
import type { DigestString } from '@plumbline/core/hash';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { BarbacaneCredential } from './credentials.js';

/** The path Barbacane data planes connect to. @public */
export const BARBACANE_DATA_PLANE_PATH = '/ws/data-plane';

/**
 * Options of {@link createBarbacaneTransport}.
 *
 * @public
 */
export interface BarbacaneTransportOptions {
  /** Accepted API keys (hashed). */
  readonly credentials: readonly BarbacaneCredential[];
  /** The monitor: read for the heartbeat interval, node states (`heartbeat_ack`) and desired hashes. */
  readonly monitor: Pick<
    FleetMonitor,
    'node' | 'desired' | 'heartbeatIntervalMs' | 'countRejected'
  >;
  /** Listen host (default `127.0.0.1`), ignored with `server`. */
  readonly host?: string;
  /** Listen port (default 0: a free port), ignored with `server`. */
  readonly port?: number;
  /** Attach to this HTTP(S) server instead of listening (upgrades on other paths are left alone). */
  readonly server?: Server;
  /** The WebSocket path. Default `/ws/data-plane`. */
  readonly path?: string;
  /** Largest frame in bytes; larger frames close the connection with 1009. Default 64 KiB. */
  readonly maxFrameBytes?: number;
  /** A connection that sends no `register` within this time is closed with 4408. Default 10,000 ms. */
  readonly registerTimeoutMs?: number;
  /** Most open connections; more are refused with HTTP 503. Default 10,000. */
  readonly maxConnections?: number;
  /**
   * Most frames per connection per 10 seconds, as a token bucket (a burst of this many, then
   * this many per 10 s); more close it with 4429. Default 100.
   */
  readonly maxFramesPer10s?: number;
  /**
   * Maps a Barbacane `artifact_id` (UUID) to the artifact's `artifact_hash`, for `register` and
   * `artifact_downloaded`. Without it (or when it returns `undefined`) a failed download is
   * attributed to the node's desired artifact.
   */
  readonly resolveArtifact?: (artifact_id: string) => DigestString | undefined;
}

/**
 * A running Barbacane transport.
 *
 * @public
 */
export interface BarbacaneTransport extends DriftTransport {
  /** `ws://host:port/ws/data-plane` once started. */
  readonly url: string;
  /** The bound address once started. */
  address(): AddressInfo;
  /** Open connections (registered or not). */
  readonly connections: number;
}
