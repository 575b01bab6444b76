import { PlumblineError, type PlumblineErrorCode } from '../errors.js';
import { checkSize } from './canonical.js';
import { DEFAULT_PROBE_LIMITS, type ProbeResult, type CanonicalConfig } from './probe.js';

/**
 * A probe target URL split into where requests go and the credentials that go only there.
 *
 * @internal
 */
export interface ProbeEndpoint {
  /** The URL without userinfo. */
  readonly url: URL;
  /** The URL as shown in logs and results: no userinfo, no query. */
  readonly display: string;
  /** Headers sent to `url` only (Basic from the URL's userinfo, plus the configured ones). */
  readonly headers: Readonly<Record<string, string>>;
}

/**
 * Parses a probe URL: `http:` or `https:` only; userinfo becomes a Basic `Authorization` header
 * sent to this URL alone.
 *
 * @throws {@link PlumblineError} `PLB_PROBE_INVALID_OPTION` for another scheme or a bad URL.
 * @internal
 */
export function probeEndpoint(
  raw: string,
  headers: Readonly<Record<string, string>> = {},
): ProbeEndpoint {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new PlumblineError('PLB_PROBE_INVALID_OPTION', 'the probe URL is not a valid URL');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new PlumblineError('PLB_PROBE_INVALID_OPTION', 'the probe URL must be http: or https:');
  }
  const all: Record<string, string> = { ...headers };
  if (url.username !== '' || url.password !== '') {
    const user = decodeURIComponent(url.username);
    const pass = decodeURIComponent(url.password);
    all['authorization'] =
      `Basic ${btoa(String.fromCharCode(...new TextEncoder().encode(`${user}:${pass}`)))}`;
    url.username = '';
    url.password = '';
  }
  return { url, display: `${url.origin}${url.pathname}`, headers: all };
}

/** Options of {@link fetchBounded}. @internal */
export interface FetchBoundedOptions {
  readonly timeoutMs?: number;
  readonly maxBytes?: number;
  readonly signal?: AbortSignal;
  readonly fetch?: typeof fetch;
}

function failure(code: PlumblineErrorCode, message: string, details?: Record<string, unknown>) {
  return new PlumblineError(code, message, details === undefined ? {} : { details });
}

async function readBody(response: Response, maxBytes: number): Promise<Uint8Array> {
  const length = response.headers.get('content-length');
  if (length !== null && Number(length) > maxBytes) {
    await response.body?.cancel();
    checkSize(Number(length), maxBytes);
  }
  if (response.body === null) return new Uint8Array(0);
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.length;
    if (total > maxBytes) {
      await reader.cancel();
      checkSize(total, maxBytes);
    }
    chunks.push(value);
  }
  const out = new Uint8Array(total);
  let offset = 0;
  for (const chunk of chunks) {
    out.set(chunk, offset);
    offset += chunk.length;
  }
  return out;
}

/**
 * One bounded GET: a timeout over the whole exchange, the size limit checked against
 * `Content-Length` before reading and while reading, and redirects refused (so credentials never
 * follow a redirect to another host).
 *
 * @throws {@link PlumblineError} `PLB_PROBE_TIMEOUT`, `PLB_PROBE_UNREACHABLE`,
 *   `PLB_PROBE_REDIRECT`, `PLB_PROBE_HTTP_STATUS`, `PLB_PROBE_TOO_LARGE`.
 * @internal
 */
export async function fetchBounded(
  endpoint: ProbeEndpoint,
  options: FetchBoundedOptions = {},
): Promise<Uint8Array> {
  const timeoutMs = options.timeoutMs ?? DEFAULT_PROBE_LIMITS.timeoutMs;
  const maxBytes = options.maxBytes ?? DEFAULT_PROBE_LIMITS.maxBytes;
  const timeout = AbortSignal.timeout(timeoutMs);
  const signal =
    options.signal === undefined ? timeout : AbortSignal.any([options.signal, timeout]);
  const doFetch = options.fetch ?? fetch;
  try {
    const response = await doFetch(endpoint.url, {
      method: 'GET',
      headers: { accept: 'application/json, text/plain;q=0.9, */*;q=0.1', ...endpoint.headers },
      redirect: 'manual',
      signal,
    });
    if (response.status >= 300 && response.status < 400) {
      await response.body?.cancel();
      throw failure(
        'PLB_PROBE_REDIRECT',
        `${endpoint.display} answered a redirect, which a probe never follows`,
        {
          status: response.status,
        },
      );
    }
    if (response.status !== 200) {
      await response.body?.cancel();
      throw failure(
        'PLB_PROBE_HTTP_STATUS',
        `${endpoint.display} answered HTTP ${response.status}`,
        {
          status: response.status,
        },
      );
    }
    return await readBody(response, maxBytes);
  } catch (error) {
    if (PlumblineError.is(error)) throw error;
    if (timeout.aborted) {
      throw failure(
        'PLB_PROBE_TIMEOUT',
        `${endpoint.display} did not answer within ${timeoutMs} ms`,
      );
    }
    if (options.signal?.aborted) throw failure('PLB_PROBE_ABORTED', 'the probe was aborted');
    throw failure('PLB_PROBE_UNREACHABLE', `${endpoint.display} cannot be reached`, {
      reason: (error as { cause?: { code?: string } }).cause?.code ?? (error as Error).name,
    });
  }
}

/**
 * Runs a probe body and turns any error into a `failing` result with a code (a probe never
 * throws).
 *
 * @internal
 */
export async function settle(
  body: () => Promise<{ config: CanonicalConfig; pending?: readonly string[] }>,
  now: () => Date = () => new Date(),
): Promise<ProbeResult> {
  try {
    const { config, pending } = await body();
    const at = now().toISOString();
    if (pending !== undefined && pending.length > 0) {
      return { status: 'reload_pending', config, pending, at };
    }
    return { status: 'ok', config, at };
  } catch (error) {
    const at = now().toISOString();
    if (PlumblineError.is(error) && error.code.startsWith('PLB_PROBE_')) {
      return { status: 'failing', code: error.code, message: error.message.slice(0, 512), at };
    }
    return {
      status: 'failing',
      code: PlumblineError.is(error) ? error.code : 'PLB_PROBE_FAILED',
      message: 'the probe failed unexpectedly',
      at,
    };
  }
}
