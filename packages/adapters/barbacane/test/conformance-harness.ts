/**
 * The Barbacane data plane as the transport conformance suite's client adapter: it speaks
 * Barbacane's own serde messages, exactly as the data plane's control-plane client writes and
 * reads them (barbacane-dev/barbacane v0.8.1, crates/barbacane/src/control_plane.rs:
 * `DataPlaneMessage` and `ControlPlaneMessage`, `#[serde(tag = "type", rename_all =
 * "snake_case")]`, `Option` fields skipped when `None`, the first answer to `register` read as
 * the registration response).
 */
import { PlumblineError } from '@plumbline/core';
import { FleetMonitor } from '@plumbline/core/drift';
import type {
  TransportFrame,
  TranslatingClient,
  TranslatingClientHandler,
  TranslatingConnection,
  TranslatingTransportFactory,
} from '@plumbline/core/testing';
import { WebSocket } from 'ws';
import { z } from 'zod';
import { hashBarbacaneKey, type BarbacaneCredential } from '../src/credentials.js';
import type { BarbacaneTransport, BarbacaneTransportOptions } from '../src/transport.js';

export const PROJECT = '550e8400-e29b-41d4-a716-446655440000';

/** Builds the transport under test (the real one, or a mutant of it). */
export type MakeTransport = (options: BarbacaneTransportOptions) => BarbacaneTransport;

/** Barbacane names artifacts by UUID: each digest the suite reports gets one, resolved back. */
class ArtifactIds {
  readonly #byId = new Map<string, string>();
  readonly #byHash = new Map<string, string>();
  idOf(hash: string): string {
    let id = this.#byHash.get(hash);
    if (id === undefined) {
      id = `00000000-0000-4000-8000-${this.#byId.size.toString(16).padStart(12, '0')}`;
      this.#byHash.set(hash, id);
      this.#byId.set(id, hash);
    }
    return id;
  }
  hashOf(id: string): string | undefined {
    return this.#byId.get(id);
  }
}

// The `uuid` crate parses the hyphenated and the simple form, any version.
const uuid = z.string().regex(/^[0-9a-fA-F]{8}(-?[0-9a-fA-F]{4}){3}-?[0-9a-fA-F]{12}$/);
const u32 = z.number().int().min(0).max(4_294_967_295);

/**
 * `ControlPlaneMessage` as serde reads it (v0.8.1, `control_plane.rs`): an unknown `type`, a
 * missing field or a field of the wrong type is a parse error, which the data plane only logs.
 */
const controlPlaneMessage = z.discriminatedUnion('type', [
  z.object({ type: z.literal('registered'), data_plane_id: uuid, heartbeat_interval_secs: u32 }),
  z.object({ type: z.literal('registration_failed'), reason: z.string() }),
  z.object({
    type: z.literal('artifact_available'),
    artifact_id: uuid,
    download_url: z.string(),
    sha256: z.string(),
  }),
  z.object({ type: z.literal('heartbeat_ack'), drift_detected: z.boolean() }),
  z.object({ type: z.literal('disconnect'), reason: z.string() }),
  z.object({ type: z.literal('error'), message: z.string() }),
]);

/** A `ControlPlaneMessage` read back into Plumbline meaning (`undefined`: none, e.g. an ack). */
function meaningOf(text: string): TransportFrame | undefined {
  const parsed = controlPlaneMessage.safeParse(JSON.parse(text));
  // Thrown from the socket's message handler: an unhandled error, which fails the run.
  if (!parsed.success) throw new Error(`not a Barbacane ControlPlaneMessage: ${text}`);
  const message = parsed.data as Record<string, unknown>;
  switch (message['type']) {
    case 'registered':
      return { type: 'welcome' };
    case 'registration_failed':
      return { type: 'error', message: message['reason'] };
    case 'disconnect':
      return { type: 'error', code: 'PLB_DRIFT_REPLACED', message: message['reason'] };
    case 'error':
      return { type: 'error', message: message['message'] };
    case 'heartbeat_ack':
      return undefined;
    default:
      return { type: `barbacane:${String(message['type'])}` };
  }
}

/** A `DataPlaneMessage::Heartbeat` for a Plumbline heartbeat (no artifact_id when no hash). */
function heartbeatText(frame: TransportFrame, ids: ArtifactIds, started: number): string {
  const hash = frame['artifact_hash'];
  return JSON.stringify({
    type: 'heartbeat',
    ...(typeof hash === 'string' ? { artifact_id: ids.idOf(hash) } : {}),
    uptime_secs: Math.floor((Date.now() - started) / 1000),
    requests_total: 0,
  });
}

function connection(ws: WebSocket, ids: ArtifactIds): TranslatingConnection {
  const started = Date.now();
  const sendText = (text: string): void => {
    if (ws.readyState === ws.OPEN) ws.send(text);
  };
  return {
    send: (frame) => sendText(heartbeatText(frame, ids, started)),
    // Padded with a field serde ignores (Barbacane's messages do not deny unknown fields) of
    // 3-byte characters, so the frame's UTF-8 size is not its length, then with whitespace
    // after the value, which serde_json accepts too.
    sendSized(frame, bytes) {
      const text = heartbeatText(frame, ids, started);
      const missing = bytes - Buffer.byteLength(text, 'utf8');
      const padded = `${text.slice(0, -1)},"pad":"${'€'.repeat(Math.floor((missing - 10) / 3))}"}`;
      sendText(padded + ' '.repeat(bytes - Buffer.byteLength(padded, 'utf8')));
    },
    close: (code, reason) => ws.close(code, reason),
    terminate: () => ws.terminate(),
  };
}

function client(url: string, ids: ArtifactIds): TranslatingClient {
  return {
    connect(token, hello, handler: TranslatingClientHandler) {
      return new Promise((resolve, reject) => {
        const ws = new WebSocket(url);
        let registered = false;
        ws.on('open', () => {
          const name = hello['node_id'];
          ws.send(
            JSON.stringify({
              type: 'register',
              project_id: PROJECT,
              api_key: token,
              ...(typeof name === 'string' ? { name } : {}),
              metadata: {},
            }),
          );
        });
        ws.on('message', (data) => {
          const frame = meaningOf(data.toString());
          if (!registered && frame?.['type'] === 'welcome') {
            registered = true;
            resolve(connection(ws, ids));
          } else if (frame !== undefined) handler.onFrame(frame);
        });
        ws.on('error', (error) => {
          if (ws.readyState !== ws.CLOSED && ws.readyState !== ws.CLOSING) reject(error);
        });
        ws.on('close', (code, reason) => {
          if (!registered && code === 4401) {
            reject(new PlumblineError('PLB_DRIFT_UNAUTHENTICATED', 'registration refused'));
            return;
          }
          handler.onClose(code, reason.toString('utf8'));
          if (!registered) resolve(connection(ws, ids));
        });
      });
    },
  };
}

/** The suite's credentials as Barbacane API keys, each bound to its node. */
function credentialsOf(tokens: Parameters<TranslatingTransportFactory>[0]['tokens']) {
  return Object.entries(tokens).map(([token, identity]): BarbacaneCredential => ({
    project_id: PROJECT,
    key_sha256: hashBarbacaneKey(token),
    node: identity.node_id,
    cluster: identity.cluster,
    label: identity.node_id,
  }));
}

/** A conformance factory for the Barbacane transport built by `make`. */
export function barbacaneFactory(make: MakeTransport): TranslatingTransportFactory {
  return async ({ tokens, maxFrameBytes }) => {
    const ids = new ArtifactIds();
    const monitor = await FleetMonitor.create({ heartbeatIntervalMs: 60_000 });
    const transport = make({
      credentials: credentialsOf(tokens),
      monitor,
      maxFrameBytes,
      maxFramesPer10s: 100_000,
      resolveArtifact: (id) => ids.hashOf(id) as `sha256:${string}` | undefined,
    });
    // The client connects lazily: the transport only has its URL once started.
    const lazy: TranslatingClient = {
      connect: (token, hello, handler) => client(transport.url, ids).connect(token, hello, handler),
    };
    return { transport, client: lazy, dispose: () => monitor.close() };
  };
}
