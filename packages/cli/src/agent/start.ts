import { createHash } from 'node:crypto';
import { open } from 'node:fs/promises';
import { PlumblineError, type PlumblineErrorCode } from '@plumbline/core';
import { createAdminHandler, hashAdminToken } from '@plumbline/core/admin';
import { startAdminListener, type AdminListener } from '@plumbline/core/node';
import {
  candidateFromBytes,
  LoadedArtifactRegistry,
  verifyOnLoad,
  type LoadedArtifact,
  type LoadPolicy,
} from '@plumbline/core/verify';
import { stateFromSnapshot, type VerificationReasonReport } from '@plumbline/core/drift';
import type { LiveConfigProbe, LiveConfigWatch } from '@plumbline/core/probe';
import { startLiveWatch } from './live.js';
import type { DataPlaneClient, DataPlaneTlsOptions } from '@plumbline/ws';
import type { CliWritable } from '../io.js';
import { createJsonLogger, type JsonLogger, type LogLevel } from '../control-plane/log.js';
import { openAgentSessions, type AgentSessions } from './sessions.js';
import { watchFile } from './watch.js';

/**
 * Options of {@link startAgent}: the programmatic form of `plumbline agent`.
 *
 * @public
 */
export interface AgentOptions {
  /** The artifact file the gateway runs. */
  readonly artifact: string;
  /** The control plane's data-plane endpoint (`ws://…/ws/data-plane` or `wss://…`). */
  readonly controlPlane: string;
  /** The node's id, reported as `node_id` in every session's `hello`. */
  readonly nodeId: string;
  /** The cluster the node belongs to, reported as `cluster` in every session's `hello`. */
  readonly cluster: string;
  /** The node token, or a file holding it (re-read on every connection attempt). */
  readonly token?: string;
  /**
   * A file holding the node token, read again on every connection attempt so a rotated token is
   * picked up; used instead of `token` when both are set. Without either, the agent authenticates
   * with the client certificate of `tls` (mTLS).
   */
  readonly tokenFile?: string;
  /** TLS options for `wss://` (CA; client certificate for mTLS). */
  readonly tls?: DataPlaneTlsOptions;
  /** Serve `GET /_admin/provenance` on this loopback address (port 0 picks one). */
  readonly adminListen?: { readonly host?: string; readonly port?: number };
  /** The bearer token of the admin endpoint (required with `adminListen`). */
  readonly adminToken?: string;
  /** Heartbeat interval until the control plane's `welcome` sets it (default 5,000 ms). */
  readonly heartbeatIntervalMs?: number;
  /** How often the artifact is re-hashed to catch in-place edits (default 60,000 ms). */
  readonly rehashIntervalMs?: number;
  /** Verification policy of the artifact on disk (default `{ mode: 'warn' }`). */
  readonly policy?: LoadPolicy;
  /** Largest artifact read, in bytes (default 512 MiB). */
  readonly maxArtifactBytes?: number;
  /** Reconnect backoff (defaults 500 ms to 30 s, full jitter). */
  readonly backoff?: { readonly initialMs?: number; readonly maxMs?: number };
  /** Where structured JSON logs go (default `process.stderr`). */
  readonly logOutput?: CliWritable;
  /** The lowest level of log line written (default `'info'`). */
  readonly logLevel?: LogLevel;
  /**
   * A probe of the gateway's live configuration (`@plumbline/core/probe`). The agent then reports
   * both the artifact and what the gateway runs now (protocol v1.1 `live_config`): the live
   * digest, the digest of the artifact's payload in the probe's canonical form, and where they
   * differ. The agent closes the probe when it stops.
   */
  readonly probe?: LiveConfigProbe;
  /** How often the probe runs (default: the heartbeat interval). */
  readonly probeIntervalMs?: number;
}

/**
 * A running agent.
 *
 * @public
 */
export interface RunningAgent {
  /** The admin endpoint's base URL, when it serves one. */
  readonly adminUrl: string | undefined;
  /** What the agent reports (the verified artifact on disk). */
  readonly registry: LoadedArtifactRegistry;
  /**
   * The data-plane connection. When the artifact on disk changes to another verified artifact
   * the agent opens a new session, so its `hello` carries the new provenance; this is the newest.
   */
  readonly client: DataPlaneClient;
  /** Re-reads and re-verifies the artifact now. */
  check(): Promise<void>;
  /** The live-configuration watch, when the agent has a probe. */
  readonly live: LiveConfigWatch | undefined;
  /** Stops watching, closes the admin endpoint and the connection (1001). Idempotent. */
  close(): Promise<void>;
}

async function readArtifact(path: string, maxBytes: number): Promise<Uint8Array> {
  let handle;
  try {
    handle = await open(path, 'r');
  } catch (cause) {
    throw new PlumblineError('PLB_IO', `cannot open artifact ${path}`, {
      cause,
      details: { path, errno: (cause as { code?: string }).code },
    });
  }
  try {
    const { size } = await handle.stat();
    if (size > maxBytes) {
      throw new PlumblineError(
        'PLB_AGENT_ARTIFACT_TOO_LARGE',
        `artifact ${path} is larger than ${maxBytes} bytes`,
        {
          details: { path, limit: maxBytes, size },
        },
      );
    }
    const bytes = Buffer.alloc(size);
    let offset = 0;
    while (offset < size) {
      const { bytesRead } = await handle.read(bytes, offset, size - offset, offset);
      if (bytesRead === 0) break;
      offset += bytesRead;
    }
    return bytes.subarray(0, offset);
  } finally {
    await handle.close();
  }
}

/**
 * Starts the data-plane agent, a sidecar for gateways not written in JavaScript: it verifies the
 * artifact on disk and reports it to the control plane, watches it (and re-hashes it
 * periodically) so an edit is reported at once, and serves the admin provenance endpoint on its
 * own loopback port. An artifact that no longer verifies (its payload edited in place) is reported
 * with `artifact_hash: null`, which the control plane sees as drift.
 *
 * @example
 * ```ts
 * import { startAgent } from '@plumbline/cli';
 * const agent = await startAgent({
 *   artifact: '/etc/gateway/config.plb', controlPlane: 'wss://cp:8443/ws/data-plane',
 *   nodeId: 'gw-1', cluster: 'prod-eu', tokenFile: '/run/secrets/node-token',
 * });
 * ```
 * @throws {@link @plumbline/core!PlumblineError} `PLB_USAGE` for missing credentials or admin token,
 *   `PLB_WS_URL_INVALID` for a bad URL, the admin listener's errors.
 * @public
 */
export async function startAgent(options: AgentOptions): Promise<RunningAgent> {
  const logger: JsonLogger = createJsonLogger(options.logOutput ?? process.stderr, {
    component: 'agent',
    level: options.logLevel ?? 'info',
  });
  checkAgentOptions(options);
  const registry = new LoadedArtifactRegistry();
  // Set once connected (the first check runs before, so that the first hello reports it).
  const link: { sessions?: AgentSessions; live?: LiveConfigWatch } = {};
  // Tells the control plane at once. Heartbeats carry only the hash, so another verified artifact
  // gets a new session whose hello carries its provenance too.
  const publish = (record: LoadedArtifact): void => {
    registry.set(record);
    // Another payload changes what the live configuration should be: probe again at once.
    void link.live?.check();
    const sessions = link.sessions;
    if (sessions === undefined) return;
    if (record.artifact_hash !== null && record.artifact_hash !== sessions.announced)
      sessions.renew();
    else sessions.report();
  };
  const artifact = createArtifactCheck(options, { registry, logger, publish });
  await artifact.check();
  const live =
    options.probe === undefined
      ? undefined
      : startLiveWatch({
          probe: options.probe,
          payload: artifact.payload,
          logger,
          intervalMs: options.probeIntervalMs ?? options.heartbeatIntervalMs ?? 5000,
          onChange: () => link.sessions?.report(),
        });
  if (live !== undefined) link.live = live;
  await live?.check();
  const connection = openAgentSessions({
    url: options.controlPlane,
    nodeId: options.nodeId,
    cluster: options.cluster,
    credentials: agentCredentials(options),
    ...(options.tls === undefined ? {} : { tls: options.tls }),
    ...(options.heartbeatIntervalMs === undefined
      ? {}
      : { heartbeatIntervalMs: options.heartbeatIntervalMs }),
    ...(options.backoff === undefined ? {} : { backoff: options.backoff }),
    logger: { warn: (message, details) => logger.warn(message, details) },
    instanceId: registry.instanceId,
    state: () => ({
      ...stateFromSnapshot(registry.snapshot()),
      ...(live === undefined ? {} : { live_config: live.current() }),
      verification_reasons: toleratedReasons(registry.snapshot().current),
    }),
  });
  link.sessions = connection;
  const watcher = watchFile({
    path: options.artifact,
    intervalMs: options.rehashIntervalMs ?? 60_000,
    onChange: () => artifact.check(),
    onError: (error) =>
      logger.warn('watching the artifact failed', { message: (error as Error).message }),
  });
  const stop = async (): Promise<void> => {
    watcher.close();
    await live?.close();
    await connection.close();
  };
  let admin: AdminListener | undefined;
  try {
    admin = await startAgentAdmin(options, registry, logger);
  } catch (error) {
    await stop();
    throw error;
  }
  let closed: Promise<void> | undefined;
  return {
    adminUrl: admin?.url,
    registry,
    get client() {
      return connection.client;
    },
    check: artifact.check,
    live,
    close() {
      closed ??= (async () => {
        await stop();
        await admin?.close({ graceMs: 1000 });
        logger.info('agent stopped');
      })();
      return closed;
    },
  };
}

/** Refuses an agent without credentials, or with an admin listener but no admin token. */
function checkAgentOptions(options: AgentOptions): void {
  if (
    options.token === undefined &&
    options.tokenFile === undefined &&
    options.tls?.cert === undefined
  ) {
    throw new PlumblineError('PLB_USAGE', 'the agent needs --token-file (or a client certificate)');
  }
  if (options.adminListen && !options.adminToken) {
    throw new PlumblineError('PLB_USAGE', '--admin-listen needs --admin-token-file');
  }
}

/** How the agent authenticates: a token file (re-read), a token, or its client certificate. */
function agentCredentials(
  options: AgentOptions,
): { tokenFile: string } | { token: string } | { mtls: true } {
  if (options.tokenFile !== undefined) return { tokenFile: options.tokenFile };
  if (options.token !== undefined) return { token: options.token };
  return { mtls: true };
}

/** The admin provenance endpoint on its own loopback port, when `adminListen` asks for it. */
async function startAgentAdmin(
  options: AgentOptions,
  registry: LoadedArtifactRegistry,
  logger: JsonLogger,
): Promise<AdminListener | undefined> {
  if (!options.adminListen) return undefined;
  const handler = createAdminHandler({
    source: registry,
    auth: { tokens: [{ id: 'admin', sha256: hashAdminToken(options.adminToken!) }] },
    onRequest: (event) =>
      logger.info('admin request', {
        path: event.path,
        status: event.status,
        principal: event.principal?.id ?? null,
      }),
  });
  return startAdminListener({
    handler,
    host: options.adminListen.host ?? '127.0.0.1',
    port: options.adminListen.port ?? 0,
  });
}

/**
 * Reads and verifies the artifact on disk when its bytes changed, and publishes what the agent
 * reports: the verified artifact, or a record without a hash when it cannot be read or no longer
 * verifies. `payload` is the verified payload: what the live configuration should be.
 */
function createArtifactCheck(
  options: AgentOptions,
  to: {
    readonly registry: LoadedArtifactRegistry;
    readonly logger: JsonLogger;
    readonly publish: (record: LoadedArtifact) => void;
  },
): { check: () => Promise<void>; payload: () => Uint8Array | null } {
  const { registry, logger, publish } = to;
  const maxBytes = options.maxArtifactBytes ?? 512 * 1024 * 1024;
  const policy: LoadPolicy = options.policy ?? { mode: 'warn' };
  let lastDigest: string | undefined;
  let payload: Uint8Array | null = null;
  const unverified = (at: string, code: PlumblineErrorCode, error: unknown): void =>
    publish(missingRecord(registry.instanceId, at, code, (error as Error).message, policy));
  const check = async (): Promise<void> => {
    const at = new Date().toISOString();
    let bytes: Uint8Array;
    try {
      bytes = await readArtifact(options.artifact, maxBytes);
    } catch (error) {
      const code = PlumblineError.is(error) ? error.code : 'PLB_IO';
      if (lastDigest !== 'missing') {
        logger.error('cannot read the artifact', { code, message: (error as Error).message });
      }
      lastDigest = 'missing';
      unverified(at, code, error);
      return;
    }
    const digest = createHash('sha256').update(bytes).digest('hex');
    if (digest === lastDigest) return;
    lastDigest = digest;
    const candidate = await candidateFromBytes(bytes);
    payload = null;
    let record: LoadedArtifact;
    try {
      record = await verifyOnLoad(candidate, policy);
    } catch (error) {
      // enforce refused it: report nothing verified rather than the header's claim.
      const code = PlumblineError.is(error) ? error.code : 'PLB_INTERNAL';
      logger.warn('the artifact on disk does not verify', {
        code,
        message: (error as Error).message,
      });
      unverified(at, code, error);
      return;
    }
    const failed =
      record.verification.status === 'warned' || record.verification.status === 'unverified';
    if (failed && record.kind !== 'legacy') {
      // The header claims a hash the bytes no longer prove: report it as not running that hash.
      logger.warn('the artifact on disk does not verify', {
        claimed_hash: record.artifact_hash,
        reasons: record.verification.reasons.map((r) => r.code),
      });
      record = { ...record, artifact_hash: null };
    } else {
      payload = record.kind === 'legacy' ? null : (candidate.payload ?? null);
      logger.info('artifact loaded', {
        artifact_hash: record.artifact_hash,
        kind: record.kind,
        verification: record.verification.status,
      });
    }
    publish(record);
  };
  return { check, payload: () => payload };
}

/**
 * The checks that failed on the artifact on disk and that the `warn` policy tolerated, for the
 * drift protocol's `verification_reasons` (`plumbline fleet` shows them as WHY).
 */
function toleratedReasons(record: LoadedArtifact | undefined): VerificationReasonReport[] {
  if (record?.verification.status !== 'warned') return [];
  return record.verification.reasons.map((r) => ({
    rule: r.rule,
    code: r.code,
    message: r.message,
  }));
}

function missingRecord(
  instanceId: string,
  at: string,
  code: PlumblineErrorCode,
  message: string,
  policy: LoadPolicy,
): LoadedArtifact {
  return {
    artifact_hash: null,
    artifact_digest: null,
    header_digest: null,
    kind: 'legacy',
    build_timestamp: null,
    provenance: null,
    payload: null,
    inputs: [],
    verification: {
      mode: policy.mode,
      status: 'unverified',
      checks: [],
      reasons: [{ rule: 'header', code, message: message.slice(0, 512) }],
    },
    loaded_at: at,
    instance_id: instanceId,
  };
}
