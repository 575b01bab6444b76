import { PlumblineError } from '../errors.js';
import { utf8Length } from '../encoding/utf8.js';
import { DEFAULT_MAX_FRAME_BYTES, DriftCloseCode } from './protocol.js';
import type {
  DriftChannel,
  DriftConnection,
  DriftConnectionHandler,
  DriftIdentity,
  DriftSession,
  DriftTransport,
  DriftTransportHandler,
} from './transport.js';

/**
 * Options of {@link createMemoryTransport}.
 *
 * @public
 */
export interface MemoryTransportOptions {
  /** Credentials (plain tokens) and the identity each one authenticates. */
  readonly tokens: Readonly<Record<string, DriftIdentity>>;
  /** Frames larger than this (UTF-8 bytes) close the session with 1009. Default 64 KiB. */
  readonly maxFrameBytes?: number;
}

/**
 * An in-memory transport pair for tests and examples. Frames travel through the microtask queue,
 * in order, as text, with the same authentication, size and close rules as a network transport.
 *
 * @public
 */
export interface MemoryTransport {
  /** The control-plane side. */
  readonly transport: DriftTransport;
  /** A data-plane channel that authenticates with `token`. */
  channel(token: string): DriftChannel;
  /** Drops a data-plane connection without a close handshake (both sides see 1006). */
  terminate(connection: DriftConnection): void;
}

interface Link {
  readonly session: DriftSession;
  readonly connection: DriftConnection;
  readonly client: DriftConnectionHandler;
  open: boolean;
  /** Set by terminate: frames still in flight are lost. */
  dead: boolean;
}

/**
 * Creates an in-memory {@link DriftTransport} and matching {@link DriftChannel}s.
 *
 * @example
 * ```ts
 * const memory = createMemoryTransport({
 *   tokens: { 'token-gw-1': { node_id: 'gw-1', cluster: 'prod', principal: 'token:gw-1' } },
 * });
 * const server = serveDrift({ transport: memory.transport, monitor });
 * await server.start();
 * const reporter = new DataPlaneReporter({ channel: memory.channel('token-gw-1'), node_id: 'gw-1', cluster: 'prod', source });
 * ```
 * @public
 */
export function createMemoryTransport(options: MemoryTransportOptions): MemoryTransport {
  const maxFrameBytes = options.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES;
  const tokens = new Map(Object.entries(options.tokens));
  const links = new Set<Link>();
  const byConnection = new WeakMap<DriftConnection, Link>();
  let handler: DriftTransportHandler | null = null;
  let closed = false;
  let nextId = 1;

  const end = (link: Link, code: number, reason: string, abrupt = false): void => {
    if (!link.open) return;
    link.open = false;
    link.dead = abrupt;
    links.delete(link);
    queueMicrotask(() => {
      link.client.onClose(code, reason);
      handler?.onClose(link.session, code, reason);
    });
  };

  const transport: DriftTransport = {
    async start(h) {
      if (handler !== null) {
        throw new PlumblineError('PLB_DRIFT_TRANSPORT_STATE', 'the transport is already started');
      }
      handler = h;
    },
    async close() {
      closed = true;
      for (const link of [...links]) end(link, DriftCloseCode.Shutdown, 'shutdown');
      await new Promise<void>((resolve) => queueMicrotask(() => queueMicrotask(resolve)));
    },
  };

  const channel = (token: string): DriftChannel => ({
    async connect(client, signal) {
      await Promise.resolve();
      if (signal?.aborted) {
        throw new PlumblineError('PLB_DRIFT_CONNECT', 'the connection attempt was aborted');
      }
      const h = handler;
      if (h === null || closed) {
        throw new PlumblineError(
          'PLB_DRIFT_CONNECT',
          'the control plane is not accepting connections',
        );
      }
      const identity = tokens.get(token);
      if (identity === undefined) {
        h.onAuthFailure?.({ reason: 'unknown token', remoteAddress: 'memory' });
        throw new PlumblineError(
          'PLB_DRIFT_UNAUTHENTICATED',
          'the control plane refused the credentials',
          {
            details: { close_code: DriftCloseCode.Unauthenticated },
          },
        );
      }
      const id = `mem-${nextId++}`;
      // eslint-disable-next-line prefer-const
      let link: Link;
      const session: DriftSession = {
        id,
        identity,
        remoteAddress: 'memory',
        send(text) {
          if (!link.open) return;
          queueMicrotask(() => {
            if (!link.dead) client.onMessage(text);
          });
        },
        close(code, reason = '') {
          end(link, code, reason);
        },
      };
      const connection: DriftConnection = {
        send(text) {
          if (!link.open) return;
          if (text.length > maxFrameBytes / 3 && utf8Length(text) > maxFrameBytes) {
            end(link, DriftCloseCode.FrameTooBig, 'frame too big');
            return;
          }
          queueMicrotask(() => {
            if (!link.dead) h.onMessage(session, text);
          });
        },
        close(code = 1000, reason = '') {
          end(link, code, reason);
        },
      };
      link = { session, connection, client, open: true, dead: false };
      links.add(link);
      byConnection.set(connection, link);
      h.onOpen(session);
      return connection;
    },
  });

  return {
    transport,
    channel,
    terminate(connection) {
      const link = byConnection.get(connection);
      if (link !== undefined) end(link, DriftCloseCode.Abnormal, '', true);
    },
  };
}
