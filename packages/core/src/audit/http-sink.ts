import { PlumblineError } from '../errors.js';
import { limitOption } from '../limit-option.js';
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
  const target = httpTarget(options);
  const name = target.name;
  let closed = false;
  let tail: Promise<void> = Promise.resolve();
  const closing = new AbortController();

  const enqueue = (lines: () => Iterable<Uint8Array>, signal?: AbortSignal): Promise<void> => {
    if (closed) return sinkClosed(name);
    // Requests go out one at a time, in order.
    const p = tail.then(() =>
      sendBatches(target, lines(), (body, count) =>
        postBatch(target, body, count, signal, closing.signal),
      ),
    );
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

/** The sink's options, checked, with their defaults. */
interface HttpTarget {
  readonly url: URL;
  /** The URL without credentials, for messages. */
  readonly where: string;
  /** The Basic Authorization header made of the URL's credentials, if it had any. */
  readonly basic: string | undefined;
  readonly headers: HttpBatchSinkOptions['headers'];
  readonly fetch: typeof fetch;
  readonly gzip: boolean;
  readonly name: string;
  readonly maxEvents: number;
  readonly maxBytes: number;
  readonly retries: number;
  readonly backoff: number;
  readonly maxBackoff: number;
  readonly timeout: number;
}

function httpTarget(options: HttpBatchSinkOptions): HttpTarget {
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
  const code = 'PLB_AUDIT_CONFIG';
  return {
    url,
    where: safeUrl(url),
    basic,
    headers: options.headers,
    fetch: options.fetch ?? globalThis.fetch,
    gzip: options.gzip ?? true,
    name: options.name ?? 'http',
    maxEvents: limitOption(options.maxBatchEvents, {
      name: 'maxBatchEvents',
      code,
      fallback: 500,
      min: 1,
    }),
    maxBytes: limitOption(options.maxBatchBytes, {
      name: 'maxBatchBytes',
      code,
      fallback: 1024 * 1024,
      min: 1,
    }),
    retries: limitOption(options.retries, { name: 'retries', code, fallback: 5, min: 0 }),
    backoff: limitOption(options.backoffMs, { name: 'backoffMs', code, fallback: 200, min: 0 }),
    maxBackoff: limitOption(options.maxBackoffMs, {
      name: 'maxBackoffMs',
      code,
      fallback: 10_000,
      min: 0,
    }),
    timeout: limitOption(options.timeoutMs, { name: 'timeoutMs', code, fallback: 10_000, min: 1 }),
  };
}

/** Cuts lines (each its UTF-8 bytes with the newline) into requests at line boundaries. */
async function sendBatches(
  target: HttpTarget,
  lines: Iterable<Uint8Array>,
  post: (body: Uint8Array, count: number) => Promise<void>,
): Promise<void> {
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
    await post(body, count);
  };
  for (const line of lines) {
    if (
      batch.length >= target.maxEvents ||
      (batch.length > 0 && bytes + line.length > target.maxBytes)
    )
      await flushBatch();
    batch.push(line);
    bytes += line.length;
  }
  await flushBatch();
}

/** One request body, retried with backoff (or the server's Retry-After) on 408, 429, 5xx and network errors. */
async function postBatch(
  target: HttpTarget,
  body: Uint8Array,
  count: number,
  signal: AbortSignal | undefined,
  closing: AbortSignal,
): Promise<void> {
  const { where, retries, maxBackoff } = target;
  const compressed = target.gzip ? await gzipBytes(body) : undefined;
  let lastProblem = '';
  for (let attempt = 0; attempt <= retries; attempt++) {
    if (signal?.aborted)
      throw new PlumblineError('PLB_AUDIT_HTTP_FAILED', `delivery to ${where} was aborted`);
    const outcome = await postOnce(target, { body, compressed, count }, signal, closing);
    if (outcome === undefined) return;
    lastProblem = outcome.problem;
    if (outcome.stop) break;
    if (attempt < retries) {
      const exp = Math.min(maxBackoff, target.backoff * 2 ** attempt);
      const retryAfter = outcome.retryAfter;
      await sleep(
        retryAfter !== undefined ? Math.min(maxBackoff, retryAfter) : Math.random() * exp,
        where,
        signal,
      );
    }
  }
  throw new PlumblineError(
    'PLB_AUDIT_HTTP_FAILED',
    `could not deliver ${count} audit events to ${where} (${lastProblem})`,
    {
      details: { sink: target.name, problem: lastProblem },
    },
  );
}

/**
 * One attempt: `undefined` when delivered; else what went wrong, the server's Retry-After in ms,
 * and whether to stop retrying (aborted). A refusal that retrying cannot help throws.
 */
async function postOnce(
  target: HttpTarget,
  request: { body: Uint8Array; compressed: Uint8Array | undefined; count: number },
  signal: AbortSignal | undefined,
  closing: AbortSignal,
): Promise<{ problem: string; retryAfter?: number; stop?: boolean } | undefined> {
  const { body, compressed, count } = request;
  const extra =
    typeof target.headers === 'function' ? await target.headers() : (target.headers ?? {});
  const headers: Record<string, string> = {
    ...(target.basic ? { authorization: target.basic } : {}),
    ...extra,
    'content-type': 'application/x-ndjson',
    'x-plumbline-audit-events': String(count),
    ...(compressed ? { 'content-encoding': 'gzip' } : {}),
  };
  const timer = AbortSignal.timeout(target.timeout);
  const combined = signal
    ? AbortSignal.any([signal, timer, closing])
    : AbortSignal.any([timer, closing]);
  try {
    const response = await target.fetch(target.url, {
      method: 'POST',
      headers,
      body: (compressed ?? body) as BodyInit,
      signal: combined,
      redirect: 'error',
    });
    await response.body?.cancel().catch(() => undefined);
    if (response.ok) return undefined;
    const status = response.status;
    if (status !== 408 && status !== 429 && status < 500) {
      throw new PlumblineError(
        'PLB_AUDIT_HTTP_REJECTED',
        `${target.where} refused ${count} audit events with HTTP ${status}`,
        {
          details: { status, sink: target.name },
        },
      );
    }
    const ra = response.headers.get('retry-after');
    if (ra !== null && /^\d{1,6}$/.test(ra.trim())) {
      return { problem: `HTTP ${status}`, retryAfter: Number(ra.trim()) * 1000 };
    }
    return { problem: `HTTP ${status}` };
  } catch (error) {
    if (PlumblineError.is(error)) throw error;
    const problem = timer.aborted ? `timed out after ${target.timeout} ms` : 'network error';
    return { problem, stop: signal?.aborted === true || closing.aborted };
  }
}

function sleep(ms: number, where: string, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
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
