import { PlumblineError } from '../errors.js';
import { sinkClosed, type AuditRecord, type AuditSink } from './sink.js';

const encoder = new TextEncoder();

/**
 * Options of {@link createHttpBatchSink}. Every limit has a finite default.
 *
 * @public
 */
export interface HttpBatchSinkOptions {
  /** Where batches are POSTed. */
  readonly url: string | URL;
  /** Extra request headers (such as `Authorization`), or a function returning them per request. */
  readonly headers?:
    | Readonly<Record<string, string>>
    | (() => Readonly<Record<string, string>> | Promise<Readonly<Record<string, string>>>);
  /** `fetch` to use (default: the global one). */
  readonly fetch?: typeof fetch;
  /** Compress bodies with gzip (`Content-Encoding: gzip`). Default `true`. */
  readonly gzip?: boolean;
  /** Most events per request; larger writes are split. Default 500. */
  readonly maxBatchEvents?: number;
  /** Most body bytes (before compression) per request. Default 1 MiB. */
  readonly maxBatchBytes?: number;
  /** Retries after the first attempt, for network errors, 408, 429 and 5xx. Default 5. */
  readonly retries?: number;
  /** First backoff; doubles each retry, with full jitter. Default 200 ms. */
  readonly backoffMs?: number;
  /** Longest backoff (also caps `Retry-After`). Default 10,000 ms. */
  readonly maxBackoffMs?: number;
  /** Per-request timeout. Default 10,000 ms. */
  readonly timeoutMs?: number;
  /** Sink name for metrics. Default `http`. */
  readonly name?: string;
}

/**
 * gzip through `node:zlib` when the runtime has it (reached with `process.getBuiltinModule`, so
 * core keeps no static Node import), else through the Web `CompressionStream`; `undefined` when
 * neither exists.
 *
 * @internal
 */
export async function gzipBytes(data: Uint8Array): Promise<Uint8Array | undefined> {
  type Zlib = { gzip(d: Uint8Array, cb: (e: Error | null, out: Uint8Array) => void): void };
  const proc = (globalThis as { process?: { getBuiltinModule?: (id: string) => unknown } }).process;
  const zlib = proc?.getBuiltinModule?.('node:zlib') as Zlib | undefined;
  if (zlib) {
    return new Promise((resolve, reject) =>
      zlib.gzip(data, (error, out) =>
        error ? reject(error) : resolve(new Uint8Array(out.buffer, out.byteOffset, out.byteLength)),
      ),
    );
  }
  if (typeof CompressionStream === 'function') {
    const stream = new Blob([data as BlobPart]).stream().pipeThrough(new CompressionStream('gzip'));
    return new Uint8Array(await new Response(stream).arrayBuffer());
  }
  return undefined;
}

/** The URL without user info, query or fragment, safe for messages. */
function safeUrl(url: URL): string {
  return `${url.protocol}//${url.host}${url.pathname}`;
}

/**
 * An HTTP batch sink: POSTs events as JSON lines (`application/x-ndjson`), gzip-compressed by
 * default, split into batches by count and size, retrying network errors, 408, 429 and 5xx with
 * exponential backoff and full jitter (honouring `Retry-After`). Other 4xx answers fail at once.
 * `write` resolves after a 2xx for every batch, so as a must-write sink it is a blocking webhook
 * and as a best-effort sink a buffered uploader that never drops silently.
 *
 * @example
 * ```ts
 * import { createAuditLogger, createHttpBatchSink } from '@plumbline/core/audit';
 * const http = createHttpBatchSink({ url: 'https://siem.example.com/ingest', headers: { authorization: `Bearer ${token}` } });
 * const audit = createAuditLogger({ source: { component: 'control-plane' }, sinks: [{ sink: http, delivery: 'best-effort' }] });
 * ```
 * @throws {@link PlumblineError} `PLB_AUDIT_CONFIG` for a bad URL or limit. `write` rejects with
 * `PLB_AUDIT_HTTP_REJECTED` (a 4xx) or `PLB_AUDIT_HTTP_FAILED` (retries exhausted).
 * @public
 */
export function createHttpBatchSink(options: HttpBatchSinkOptions): AuditSink {
  let url: URL;
  try {
    url = new URL(options.url);
  } catch {
    throw new PlumblineError('PLB_AUDIT_CONFIG', 'the HTTP audit sink needs an absolute URL');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new PlumblineError(
      'PLB_AUDIT_CONFIG',
      'the HTTP audit sink needs an http: or https: URL',
    );
  }
  // fetch refuses URLs with credentials: move them into a Basic Authorization header.
  let basic: string | undefined;
  if (url.username !== '' || url.password !== '') {
    basic = `Basic ${btoa(`${decodeURIComponent(url.username)}:${decodeURIComponent(url.password)}`)}`;
    url.username = '';
    url.password = '';
  }
  const maxEvents = int(options.maxBatchEvents, 500, 'maxBatchEvents', 1);
  const maxBytes = int(options.maxBatchBytes, 1024 * 1024, 'maxBatchBytes', 1);
  const retries = int(options.retries, 5, 'retries', 0);
  const backoff = int(options.backoffMs, 200, 'backoffMs', 0);
  const maxBackoff = int(options.maxBackoffMs, 10_000, 'maxBackoffMs', 0);
  const timeout = int(options.timeoutMs, 10_000, 'timeoutMs', 1);
  const doFetch = options.fetch ?? globalThis.fetch;
  const useGzip = options.gzip ?? true;
  const name = options.name ?? 'http';
  const where = safeUrl(url);
  let closed = false;
  let tail: Promise<void> = Promise.resolve();
  const closing = new AbortController();

  const sleep = (ms: number, signal?: AbortSignal): Promise<void> =>
    new Promise((resolve, reject) => {
      if (ms <= 0) return resolve();
      const onAbort = (): void => {
        clearTimeout(timer);
        reject(new PlumblineError('PLB_AUDIT_HTTP_FAILED', `delivery to ${where} was aborted`));
      };
      const timer = setTimeout(() => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      }, ms);
      if (signal?.aborted) onAbort();
      else signal?.addEventListener('abort', onAbort, { once: true });
    });

  const post = async (body: Uint8Array, count: number, signal?: AbortSignal): Promise<void> => {
    const compressed = useGzip ? await gzipBytes(body) : undefined;
    let lastProblem = '';
    for (let attempt = 0; attempt <= retries; attempt++) {
      if (signal?.aborted)
        throw new PlumblineError('PLB_AUDIT_HTTP_FAILED', `delivery to ${where} was aborted`);
      const extra =
        typeof options.headers === 'function' ? await options.headers() : (options.headers ?? {});
      const headers: Record<string, string> = {
        ...(basic ? { authorization: basic } : {}),
        ...extra,
        'content-type': 'application/x-ndjson',
        'x-plumbline-audit-events': String(count),
        ...(compressed ? { 'content-encoding': 'gzip' } : {}),
      };
      const timer = AbortSignal.timeout(timeout);
      const combined = signal
        ? AbortSignal.any([signal, timer, closing.signal])
        : AbortSignal.any([timer, closing.signal]);
      let retryAfter: number | undefined;
      try {
        const response = await doFetch(url, {
          method: 'POST',
          headers,
          body: (compressed ?? body) as BodyInit,
          signal: combined,
          redirect: 'error',
        });
        await response.body?.cancel().catch(() => undefined);
        if (response.ok) return;
        const status = response.status;
        if (status !== 408 && status !== 429 && status < 500) {
          throw new PlumblineError(
            'PLB_AUDIT_HTTP_REJECTED',
            `${where} refused ${count} audit events with HTTP ${status}`,
            {
              details: { status, sink: name },
            },
          );
        }
        lastProblem = `HTTP ${status}`;
        const ra = response.headers.get('retry-after');
        if (ra !== null && /^\d{1,6}$/.test(ra.trim())) retryAfter = Number(ra.trim()) * 1000;
      } catch (error) {
        if (PlumblineError.is(error)) throw error;
        lastProblem = timer.aborted ? `timed out after ${timeout} ms` : 'network error';
        if (signal?.aborted || closing.signal.aborted) break;
      }
      if (attempt < retries) {
        const exp = Math.min(maxBackoff, backoff * 2 ** attempt);
        await sleep(
          retryAfter !== undefined ? Math.min(maxBackoff, retryAfter) : Math.random() * exp,
          signal,
        );
      }
    }
    throw new PlumblineError(
      'PLB_AUDIT_HTTP_FAILED',
      `could not deliver ${count} audit events to ${where} (${lastProblem})`,
      {
        details: { sink: name, problem: lastProblem },
      },
    );
  };

  // Each line is its UTF-8 bytes with the newline; requests are cut at line boundaries.
  const send = async (lines: Iterable<Uint8Array>, signal?: AbortSignal): Promise<void> => {
    let batch: Uint8Array[] = [];
    let bytes = 0;
    const flushBatch = async (): Promise<void> => {
      if (batch.length === 0) return;
      const body = new Uint8Array(bytes);
      let offset = 0;
      for (const line of batch) {
        body.set(line, offset);
        offset += line.length;
      }
      const count = batch.length;
      batch = [];
      bytes = 0;
      await post(body, count, signal);
    };
    for (const line of lines) {
      if (batch.length >= maxEvents || (batch.length > 0 && bytes + line.length > maxBytes))
        await flushBatch();
      batch.push(line);
      bytes += line.length;
    }
    await flushBatch();
  };

  const enqueue = (lines: () => Iterable<Uint8Array>, signal?: AbortSignal): Promise<void> => {
    if (closed) return sinkClosed(name);
    // Requests go out one at a time, in order.
    const p = tail.then(() => send(lines(), signal));
    tail = p.catch(() => undefined);
    return p;
  };

  return {
    name,
    write(records, writeOptions) {
      return enqueue(() => recordLines(records), writeOptions?.signal);
    },
    writeLines(chunks) {
      // The chunks are read while this call is pending only: each request body is a copy.
      return enqueue(() => splitLines(chunks));
    },
    flush() {
      return tail;
    },
    async close() {
      if (closed) return;
      closed = true;
      await tail;
      closing.abort();
    },
  };
}

function* recordLines(records: readonly AuditRecord[]): Generator<Uint8Array> {
  for (const r of records) yield encoder.encode(`${r.json}\n`);
}

/** The lines of encoded chunks (each chunk ends at a line boundary), as views. */
function* splitLines(chunks: readonly Uint8Array[]): Generator<Uint8Array> {
  for (const chunk of chunks) {
    let start = 0;
    while (start < chunk.length) {
      const nl = chunk.indexOf(0x0a, start);
      const end = nl === -1 ? chunk.length : nl + 1;
      yield chunk.subarray(start, end);
      start = end;
    }
  }
}

function int(value: number | undefined, fallback: number, option: string, min: number): number {
  if (value === undefined) return fallback;
  if (!Number.isSafeInteger(value) || value < min) {
    throw new PlumblineError('PLB_AUDIT_CONFIG', `${option} must be an integer >= ${min}`, {
      details: { option },
    });
  }
  return value;
}
