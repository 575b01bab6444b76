/**
 * The data-plane side of the SSE + POST drift transport (see `sse-transport.ts` for the wire
 * format): a {@link DriftChannel} that core's `DataPlaneReporter` drives. It opens the event
 * stream, sends frames as POSTs strictly one after another (so they arrive in order), and reports
 * exactly one close per connection.
 */
import http from 'node:http';
import { PlumblineError } from '@plumbline/core';
import type { DriftChannel, DriftConnection, DriftConnectionHandler } from '@plumbline/core/drift';

/** Options of {@link createSseChannel}. */
export interface SseChannelOptions {
  /** The transport's base URL, `http://host:port`. */
  readonly url: string;
  /** The node token (sent as `Authorization: Bearer`). */
  readonly token: string;
  /** Largest SSE event accepted from the control plane, in bytes (default 1 MiB). */
  readonly maxEventBytes?: number;
  /** How long opening the stream may take (default 10,000 ms). */
  readonly connectTimeoutMs?: number;
}

/** An open SSE connection; `destroy()` drops it without a close request (an abrupt close). */
export interface SseConnection extends DriftConnection {
  destroy(): void;
}

/**
 * Creates the data-plane channel of the SSE + POST transport.
 *
 * @example
 * ```ts
 * const reporter = new DataPlaneReporter({
 *   channel: createSseChannel({ url: 'http://127.0.0.1:7400', token }),
 *   node_id: 'gw-1', cluster: 'prod', source: () => ({ artifact_hash: null }),
 * });
 * reporter.start();
 * ```
 */
export function createSseChannel(options: SseChannelOptions): DriftChannel {
  const base = new URL(options.url);
  if (base.protocol !== 'http:') {
    throw new PlumblineError('PLB_DRIFT_INVALID_OPTION', 'the SSE transport URL must be http://');
  }
  const maxEventBytes = options.maxEventBytes ?? 1024 * 1024;
  const connectTimeoutMs = options.connectTimeoutMs ?? 10_000;
  const authorization = `Bearer ${options.token}`;

  return {
    connect(handler: DriftConnectionHandler, signal?: AbortSignal): Promise<SseConnection> {
      return new Promise<SseConnection>((resolve, reject) => {
        const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
        let sessionId: string | undefined;
        let opened = false;
        let closed = false;
        let queue: Promise<void> = Promise.resolve();

        const report = (code: number, reason: string): void => {
          if (closed) return;
          closed = true;
          agent.destroy();
          if (opened) handler.onClose(code, reason);
        };

        const post = (path: string, body: string): Promise<void> =>
          new Promise<void>((done) => {
            const req = http.request(
              new URL(`/drift/sessions/${sessionId}/${path}`, base),
              {
                method: 'POST',
                agent,
                headers: {
                  authorization,
                  'content-type': 'text/plain; charset=utf-8',
                  'content-length': Buffer.byteLength(body),
                },
              },
              (res) => {
                res.resume();
                res.on('end', () => done());
                res.on('error', () => done());
              },
            );
            req.on('error', () => done());
            req.end(body);
          });

        const stream = http.get(new URL('/drift/events', base), {
          headers: { authorization, accept: 'text/event-stream' },
          ...(signal === undefined ? {} : { signal }),
          timeout: connectTimeoutMs,
        });
        stream.on('timeout', () => {
          if (!opened) stream.destroy(new Error('connect timeout'));
        });
        stream.on('error', (cause) => {
          if (!opened) {
            agent.destroy();
            reject(
              new PlumblineError('PLB_DRIFT_CONNECT', 'cannot open the SSE event stream', {
                cause,
              }),
            );
          }
        });
        stream.on('response', (res) => {
          if (res.statusCode === 401) {
            res.resume();
            agent.destroy();
            reject(
              new PlumblineError(
                'PLB_DRIFT_UNAUTHENTICATED',
                'the control plane refused the token',
              ),
            );
            return;
          }
          if (res.statusCode !== 200) {
            res.resume();
            agent.destroy();
            reject(
              new PlumblineError(
                'PLB_DRIFT_CONNECT',
                `the control plane answered ${res.statusCode}`,
              ),
            );
            return;
          }
          stream.setTimeout(0);
          res.setEncoding('utf8');
          let buffer = '';
          const connection: SseConnection = {
            send(text: string) {
              if (closed) return;
              queue = queue.then(() => (closed ? undefined : post('frames', text)));
            },
            close(code = 1000, reason = '') {
              if (closed) return;
              const body = JSON.stringify({ code, reason });
              queue = queue.then(async () => {
                if (closed) return;
                await post('close', body);
                report(code, reason);
                stream.destroy();
              });
            },
            destroy() {
              if (closed) return;
              stream.destroy();
              res.destroy();
              report(1006, '');
            },
          };
          const onEvent = (raw: string): void => {
            let event = 'message';
            const data: string[] = [];
            for (const line of raw.split('\n')) {
              if (line.startsWith('event: ')) event = line.slice(7);
              else if (line.startsWith('data: ')) data.push(line.slice(6));
            }
            const text = data.join('\n');
            if (event === 'open' && !opened) {
              sessionId = (JSON.parse(text) as { session: string }).session;
              opened = true;
              resolve(connection);
            } else if (event === 'frame' && opened && !closed) {
              handler.onMessage(text);
            } else if (event === 'close') {
              const { code, reason } = JSON.parse(text) as { code: number; reason: string };
              report(code, reason);
              stream.destroy();
            }
          };
          res.on('data', (chunk: string) => {
            buffer += chunk;
            let end: number;
            while ((end = buffer.indexOf('\n\n')) !== -1) {
              const raw = buffer.slice(0, end);
              buffer = buffer.slice(end + 2);
              onEvent(raw);
            }
            if (buffer.length > maxEventBytes) {
              // The control plane sent an event larger than we accept: treat it as 1009.
              report(1009, 'event too big');
              stream.destroy();
            }
          });
          const ended = (): void => {
            if (!opened) {
              agent.destroy();
              reject(new PlumblineError('PLB_DRIFT_CONNECT', 'the event stream ended early'));
              return;
            }
            report(1006, '');
          };
          res.on('end', ended);
          res.on('close', ended);
          res.on('error', () => undefined);
        });
      });
    },
  };
}
