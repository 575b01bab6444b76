/**
 * Broken drift transports: the in-memory transport with one flaw each, as an integrator could
 * write them. The transport conformance suite must fail every one (mutation.test.ts).
 */
import { PlumblineError } from '@plumbline/core';
import type {
  DriftChannel,
  DriftConnection,
  DriftConnectionHandler,
  DriftIdentity,
  DriftSession,
  DriftTransport,
  DriftTransportHandler,
} from '@plumbline/core/drift';
import type { TransportFactory } from '@plumbline/core/testing';

/** Each flaw and the contract clause the suite must name when it catches it. */
export const TRANSPORT_FLAWS = {
  'identity from the hello': 'transport.identity',
  'identity cleared on close': 'transport.identity',
  'token prefix accepted': 'transport.auth',
  'token suffix accepted': 'transport.auth',
  'token case ignored': 'transport.auth',
  'any credential accepted': 'transport.auth',
  'secret in the auth failure reason': 'transport.auth',
  'auth failure not reported': 'transport.auth',
  'delivery after close': 'transport.lifecycle',
  'frames flushed after onClose': 'transport.lifecycle',
  'close never reported': 'transport.lifecycle',
  'close reported twice': 'transport.lifecycle',
  'send throws once closed': 'transport.lifecycle',
  'backlog dropped beyond 256 frames': 'transport.order',
  'neighbouring frames swapped': 'transport.order',
  'a frame delivered twice': 'transport.order',
  'frames sent to the newest connection': 'transport.isolation',
  'no frame limit': 'transport.frame-limit',
  'frame limit counts characters': 'transport.frame-limit',
  "the peer's close reason lost": 'transport.close-codes',
  'close code replaced by 1000': 'transport.close-codes',
  'abrupt close reported as 1000': 'transport.abrupt-close',
  'session ids reused': 'transport.reconnect',
  'shutdown closes with 1000': 'transport.shutdown',
  'close() does not wait for the closes': 'transport.shutdown',
  'sessions open after close()': 'transport.shutdown',
} as const;

export type TransportFlaw = keyof typeof TRANSPORT_FLAWS;

interface Link {
  readonly session: DriftSession & { identity: DriftIdentity };
  readonly client: DriftConnectionHandler;
  open: boolean;
  dead: boolean;
  closes: number;
}

const encoder = new TextEncoder();

/** A transport factory with `flaw` built in. */
export function flawedTransport(flaw: TransportFlaw): TransportFactory {
  return async ({ tokens, maxFrameBytes }) => {
    const links = new Set<Link>();
    const byConnection = new WeakMap<DriftConnection, Link>();
    let handler: DriftTransportHandler | null = null;
    let closed = false;
    let nextId = 1;
    let newest: Link | null = null;

    const lookup = (token: string): DriftIdentity | undefined => {
      const entries = Object.entries(tokens);
      if (flaw === 'any credential accepted') return entries[0]?.[1];
      if (flaw === 'token prefix accepted')
        return entries.find(([t]) => token.startsWith(t) || t.startsWith(token))?.[1];
      if (flaw === 'token suffix accepted')
        return entries.find(([t]) => t.endsWith(token) || token.endsWith(t))?.[1];
      if (flaw === 'token case ignored')
        return entries.find(([t]) => t.toLowerCase() === token.toLowerCase())?.[1];
      return tokens[token];
    };

    const reportClose = (link: Link, code: number, reason: string): void => {
      if (flaw === 'close never reported') return;
      if (flaw === 'identity cleared on close') {
        (link.session as { identity: unknown }).identity = undefined;
      }
      const serverCode = flaw === 'abrupt close reported as 1000' && code === 1006 ? 1000 : code;
      const serverReason = flaw === "the peer's close reason lost" ? '' : reason;
      handler?.onClose(link.session, serverCode, serverReason);
      if (flaw === 'close reported twice') handler?.onClose(link.session, serverCode, serverReason);
    };

    const end = (link: Link, code: number, reason: string, abrupt = false, late = false): void => {
      if (!link.open) return;
      link.open = false;
      link.dead = abrupt;
      links.delete(link);
      const clientCode = flaw === 'close code replaced by 1000' && code >= 4000 ? 1000 : code;
      const run = (): void => {
        link.client.onClose(clientCode, reason);
        reportClose(link, code, reason);
      };
      if (late) setTimeout(run, 5);
      else queueMicrotask(run);
    };

    const transport: DriftTransport = {
      async start(h) {
        handler = h;
      },
      async close() {
        closed = true;
        const code = flaw === 'shutdown closes with 1000' ? 1000 : 1001;
        const late = flaw === 'close() does not wait for the closes';
        for (const link of [...links]) end(link, code, 'shutdown', false, late);
        if (late) return;
        await new Promise<void>((resolve) => queueMicrotask(() => queueMicrotask(resolve)));
      },
    };

    const toServer = (link: Link, text: string): void => {
      const h = handler!;
      // A frame sent before a close is delivered (before onClose); one sent after it is not.
      const sentOpen = link.open;
      const deliver = (): void => {
        if (link.dead) return;
        if (!sentOpen && flaw !== 'delivery after close') return;
        if (flaw === 'identity from the hello') {
          try {
            const frame = JSON.parse(text) as { type?: string; node_id?: string; cluster?: string };
            if (frame.type === 'hello' && frame.node_id && frame.cluster) {
              link.session.identity = {
                node_id: frame.node_id,
                cluster: frame.cluster,
                principal: link.session.identity.principal,
              };
            }
          } catch {
            // not JSON
          }
        }
        h.onMessage(link.session, text);
      };
      if (flaw === 'frames flushed after onClose') setTimeout(deliver, 5);
      else queueMicrotask(deliver);
    };

    const channel = (token: string): DriftChannel => ({
      async connect(client) {
        await Promise.resolve();
        const h = handler;
        if (h === null || (closed && flaw !== 'sessions open after close()')) {
          throw new PlumblineError('PLB_DRIFT_CONNECT', 'not accepting connections');
        }
        const identity = lookup(token);
        if (identity === undefined) {
          if (flaw !== 'auth failure not reported') {
            const reason =
              flaw === 'secret in the auth failure reason'
                ? `unknown token ${token}`
                : 'unknown token';
            h.onAuthFailure?.({ reason });
          }
          throw new PlumblineError('PLB_DRIFT_UNAUTHENTICATED', 'refused');
        }
        const id = flaw === 'session ids reused' ? 'mem-1' : `mem-${nextId++}`;
        // eslint-disable-next-line prefer-const
        let link: Link;
        let sentDown = 0;
        let held: string | null = null;
        const session = {
          id,
          identity: { ...identity },
          send(text: string) {
            if (!link.open && flaw !== 'delivery after close') {
              if (flaw === 'send throws once closed') throw new Error('closed');
              return;
            }
            const target =
              flaw === 'frames sent to the newest connection' && newest ? newest : link;
            sentDown += 1;
            if (flaw === 'backlog dropped beyond 256 frames' && sentDown > 256) return;
            const deliver = (t: string): void => {
              queueMicrotask(() => {
                if (!target.dead) target.client.onMessage(t);
              });
            };
            if (flaw === 'neighbouring frames swapped') {
              if (held === null) {
                held = text;
                queueMicrotask(() => {
                  if (held !== null) {
                    const t = held;
                    held = null;
                    if (!target.dead) target.client.onMessage(t);
                  }
                });
                return;
              }
              deliver(text);
              deliver(held);
              held = null;
              return;
            }
            deliver(text);
            if (flaw === 'a frame delivered twice' && sentDown === 3) deliver(text);
          },
          close(code: number, reason = '') {
            end(link, code, reason);
          },
        };
        const connection: DriftConnection = {
          send(text) {
            if (!link.open && flaw !== 'delivery after close') {
              if (flaw === 'send throws once closed') throw new Error('closed');
              return;
            }
            const size =
              flaw === 'frame limit counts characters' ? text.length : encoder.encode(text).length;
            if (flaw !== 'no frame limit' && size > maxFrameBytes) {
              end(link, 1009, 'frame too big');
              return;
            }
            toServer(link, text);
          },
          close(code = 1000, reason = '') {
            end(link, code, reason);
          },
        };
        link = { session, client, open: true, dead: false, closes: 0 };
        links.add(link);
        newest = link;
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
        if (link !== undefined) end(link, 1006, '', true);
      },
    };
  };
}
