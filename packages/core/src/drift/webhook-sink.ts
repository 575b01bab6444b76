import { PlumblineError } from '../errors.js';
import { textEqual } from '../encoding/hex.js';
import { SDK_VERSION } from '../version.js';
import type { Clock, TimerHandle } from './clock.js';
import { systemClock } from './clock.js';
import type { FleetEvent, FleetEventType } from './events.js';
import type { MonitorLogger } from './monitor-types.js';
import { positive } from './monitor/validate.js';
import type { AlertSink, SinkStats } from './sink.js';

/**
 * Header names of webhook deliveries (see docs/protocol.md "Webhooks").
 *
 * @public
 */
export const WEBHOOK_HEADERS = {
  /** `t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">` (several `v1` during secret rotation). */
  signature: 'plumbline-signature',
  /** The event id: the idempotency key, the same on every retry. */
  eventId: 'plumbline-event-id',
  /** The event type, such as `drift.detected`. */
  eventType: 'plumbline-event-type',
  /** 1 for the first attempt, then 2, 3, ... */
  attempt: 'plumbline-delivery-attempt',
} as const;

/**
 * Options of {@link WebhookSink}.
 *
 * @public
 */
export interface WebhookSinkOptions {
  /** Where events are POSTed. `http:` or `https:`. */
  readonly url: string | URL;
  /** The shared HMAC secret (text or bytes). Never logged, never in an error. */
  readonly secret: string | Uint8Array;
  /** Events waiting beyond this are dropped, oldest first, and counted. Default 1,000. */
  readonly queueSize?: number;
  /** Attempts per event before it is dropped. Default 8. */
  readonly maxAttempts?: number;
  /** Backoff cap of the first retry; doubles per attempt. Default 500 ms. */
  readonly initialBackoffMs?: number;
  /** Largest backoff (also bounds `Retry-After`). Default 60,000 ms. */
  readonly maxBackoffMs?: number;
  /** Per-request timeout. Default 10,000 ms. */
  readonly timeoutMs?: number;
  /** How long `close()` waits for the queue to drain before dropping the rest. Default 5,000 ms. */
  readonly closeTimeoutMs?: number;
  /** Only these event types (default: every event the monitor sends to sinks). */
  readonly types?: readonly FleetEventType[];
  /** Extra request headers (for example a receiver's routing key). */
  readonly headers?: Readonly<Record<string, string>>;
  /** `fetch` implementation. Default the global `fetch`. */
  readonly fetch?: typeof fetch;
  /**
   * Time source and timers (retry backoff, request timeouts, the `close()` wait, the signature
   * timestamp). Default `systemClock`.
   */
  readonly clock?: Clock;
  /** Uniform random number in [0, 1) for jitter. Default `Math.random`. */
  readonly random?: () => number;
  /** Where delivery problems are reported (status codes and error codes only). */
  readonly logger?: MonitorLogger;
}

interface Pending {
  readonly event: FleetEvent;
  readonly body: string;
  attempts: number;
}

const encoder = new TextEncoder();

function toBytes(secret: string | Uint8Array): Uint8Array {
  return typeof secret === 'string' ? encoder.encode(secret) : secret;
}

async function hmacHex(secret: Uint8Array, message: string): Promise<string> {
  const key = await crypto.subtle.importKey(
    'raw',
    secret as Uint8Array<ArrayBuffer>,
    { name: 'HMAC', hash: 'SHA-256' },
    false,
    ['sign'],
  );
  const mac = new Uint8Array(await crypto.subtle.sign('HMAC', key, encoder.encode(message)));
  let hex = '';
  for (const byte of mac) hex += byte.toString(16).padStart(2, '0');
  return hex;
}

/**
 * Computes the `Plumbline-Signature` header value for a body at a time.
 *
 * @example
 * ```ts
 * const header = await signWebhook({ secret, body, timestamp: Math.floor(Date.now() / 1000) });
 * // 't=1767225600,v1=5f0c…'
 * ```
 * @public
 */
export async function signWebhook(options: {
  readonly secret: string | Uint8Array;
  readonly body: string;
  readonly timestamp: number;
}): Promise<string> {
  const t = Math.floor(options.timestamp);
  return `t=${t},v1=${await hmacHex(toBytes(options.secret), `${t}.${options.body}`)}`;
}

/**
 * Options of {@link verifyWebhookSignature}.
 *
 * @public
 */
export interface VerifyWebhookOptions {
  /** The shared secret, or several during a rotation (any may match). */
  readonly secret: string | Uint8Array | readonly (string | Uint8Array)[];
  /** The raw request body, exactly as received (before any JSON parsing). */
  readonly body: string | Uint8Array;
  /** The `Plumbline-Signature` header value. */
  readonly header: string | null | undefined;
  /** Accepted clock difference in seconds, either way. Default 300. */
  readonly toleranceSeconds?: number;
  /** The receiver's time in milliseconds. Default `Date.now()`. */
  readonly now?: number;
}

/**
 * Verifies a webhook delivery: the HMAC-SHA256 of `"<t>.<body>"` under the shared secret, and a
 * timestamp within the tolerance (which, together with remembering `Plumbline-Event-Id`s for
 * that long, rejects replays). Resolves with the signed timestamp.
 *
 * @example
 * ```ts
 * const { timestamp } = await verifyWebhookSignature({
 *   secret: process.env.WEBHOOK_SECRET!, body: rawBody, header: req.headers['plumbline-signature'],
 * });
 * ```
 * @throws {@link PlumblineError} `PLB_WEBHOOK_SIGNATURE_MALFORMED` for a missing or unparsable
 *   header, `PLB_WEBHOOK_TIMESTAMP` for a timestamp outside the tolerance,
 *   `PLB_WEBHOOK_SIGNATURE_MISMATCH` when no signature matches.
 * @public
 */
export async function verifyWebhookSignature(
  options: VerifyWebhookOptions,
): Promise<{ timestamp: number }> {
  const header = options.header;
  if (typeof header !== 'string' || header.length === 0 || header.length > 4096) {
    throw new PlumblineError(
      'PLB_WEBHOOK_SIGNATURE_MALFORMED',
      'the Plumbline-Signature header is missing or too long',
    );
  }
  let timestamp: number | undefined;
  const signatures: string[] = [];
  for (const part of header.split(',')) {
    const eq = part.indexOf('=');
    const key = part.slice(0, eq).trim();
    const value = part.slice(eq + 1).trim();
    if (eq < 0) continue;
    if (key === 't' && /^\d{1,12}$/.test(value)) timestamp = Number(value);
    else if (key === 'v1' && /^[0-9a-f]{64}$/.test(value)) signatures.push(value);
  }
  if (timestamp === undefined || signatures.length === 0) {
    throw new PlumblineError(
      'PLB_WEBHOOK_SIGNATURE_MALFORMED',
      'the Plumbline-Signature header needs t=<unix seconds> and at least one v1=<64 hex>',
    );
  }
  const tolerance = options.toleranceSeconds ?? 300;
  const now = Math.floor((options.now ?? Date.now()) / 1000);
  if (Math.abs(now - timestamp) > tolerance) {
    throw new PlumblineError(
      'PLB_WEBHOOK_TIMESTAMP',
      'the webhook timestamp is outside the accepted tolerance',
      {
        details: { timestamp, tolerance_seconds: tolerance },
      },
    );
  }
  const body =
    typeof options.body === 'string' ? options.body : new TextDecoder().decode(options.body);
  const secrets = Array.isArray(options.secret)
    ? options.secret
    : [options.secret as string | Uint8Array];
  for (const secret of secrets) {
    const expected = await hmacHex(toBytes(secret), `${timestamp}.${body}`);
    let match = false;
    for (const signature of signatures) match = textEqual(signature, expected) || match;
    if (match) return { timestamp };
  }
  throw new PlumblineError(
    'PLB_WEBHOOK_SIGNATURE_MISMATCH',
    'the webhook signature does not match',
  );
}

/**
 * An alert sink that POSTs each event as JSON to a URL, signed with HMAC-SHA256 over
 * `timestamp + "." + body` (`Plumbline-Signature: t=<unix>,v1=<hex>`), with `Plumbline-Event-Id`
 * as the idempotency key. Events are delivered one at a time in order; failures (network errors,
 * timeouts, 408, 429 and 5xx) are retried with exponential backoff and full jitter (honouring
 * `Retry-After`), other 4xx responses drop the event. A bounded queue drops the oldest event when
 * full; every drop is counted. `send` never throws and never waits.
 *
 * @example
 * ```ts
 * const webhook = new WebhookSink({ url: 'https://alerts.example.com/plumbline', secret });
 * const monitor = await FleetMonitor.create({ sinks: [webhook] });
 * ```
 * @public
 */
export class WebhookSink implements AlertSink {
  /** `webhook`, the `sink` label of the alert metrics. */
  readonly name = 'webhook';
  readonly #url: string;
  readonly #secret: Uint8Array;
  readonly #queueSize: number;
  readonly #maxAttempts: number;
  readonly #initialBackoffMs: number;
  readonly #maxBackoffMs: number;
  readonly #timeoutMs: number;
  readonly #closeTimeoutMs: number;
  readonly #types: Set<FleetEventType> | null;
  readonly #headers: Readonly<Record<string, string>>;
  readonly #fetch: typeof fetch;
  readonly #clock: Clock;
  readonly #random: () => number;
  readonly #logger: MonitorLogger | undefined;
  readonly #queue: Pending[] = [];
  #running = false;
  #closed = false;
  #idle: (() => void)[] = [];
  #sleep: { timer: TimerHandle; wake: () => void } | null = null;
  #inflight: AbortController | null = null;
  #accepted = 0;
  #delivered = 0;
  #dropped = 0;
  #failures = 0;

  /**
   * @throws {@link PlumblineError} `PLB_WEBHOOK_INVALID_URL` for a URL that is not http(s),
   *   `PLB_DRIFT_INVALID_OPTION` for an option out of range.
   */
  constructor(options: WebhookSinkOptions) {
    let url: URL;
    try {
      url = new URL(String(options.url));
    } catch (cause) {
      throw new PlumblineError('PLB_WEBHOOK_INVALID_URL', 'the webhook URL is not a valid URL', {
        cause,
      });
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') {
      throw new PlumblineError(
        'PLB_WEBHOOK_INVALID_URL',
        'the webhook URL must be http: or https:',
      );
    }
    this.#url = url.href;
    this.#secret = toBytes(options.secret);
    if (this.#secret.length === 0) {
      throw new PlumblineError('PLB_DRIFT_INVALID_OPTION', 'the webhook secret must not be empty', {
        details: { option: 'secret' },
      });
    }
    this.#queueSize = positive(options.queueSize, 'queueSize', 1000, true);
    this.#maxAttempts = positive(options.maxAttempts, 'maxAttempts', 8, true);
    this.#initialBackoffMs = positive(options.initialBackoffMs, 'initialBackoffMs', 500, false);
    this.#maxBackoffMs = positive(options.maxBackoffMs, 'maxBackoffMs', 60_000, false);
    this.#timeoutMs = positive(options.timeoutMs, 'timeoutMs', 10_000, false);
    this.#closeTimeoutMs = positive(options.closeTimeoutMs, 'closeTimeoutMs', 5000, false);
    this.#types = options.types === undefined ? null : new Set(options.types);
    this.#headers = options.headers ?? {};
    this.#fetch = options.fetch ?? fetch;
    this.#clock = options.clock ?? systemClock;
    this.#random = options.random ?? Math.random;
    this.#logger = options.logger;
  }

  /** Queues an event for delivery; drops the oldest queued event when the queue is full. */
  send(event: FleetEvent): void {
    if (this.#types !== null && !this.#types.has(event.type)) return;
    if (this.#closed) {
      this.#dropped++;
      return;
    }
    let body: string;
    try {
      body = JSON.stringify(event);
    } catch {
      this.#dropped++;
      return;
    }
    this.#accepted++;
    if (this.#queue.length >= this.#queueSize) {
      this.#queue.shift();
      this.#dropped++;
    }
    this.#queue.push({ event, body, attempts: 0 });
    if (!this.#running) void this.#pump();
  }

  /** The sink's counters (`dropped` includes queue overflow, permanent failures and give-ups). */
  stats(): SinkStats {
    return {
      accepted: this.#accepted,
      delivered: this.#delivered,
      dropped: this.#dropped,
      failures: this.#failures,
      queued: this.#queue.length,
    };
  }

  /** Resolves when the queue is empty and nothing is in flight. */
  flush(): Promise<void> {
    if (!this.#running && this.#queue.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idle.push(resolve));
  }

  /**
   * Stops accepting events, waits up to `closeTimeoutMs` for the queue to drain, then drops what
   * is left (counted) and aborts a request in flight.
   */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    let timer: TimerHandle | null = null;
    const timedOut = new Promise<void>((resolve) => {
      timer = this.#clock.setTimeout(resolve, this.#closeTimeoutMs);
    });
    await Promise.race([this.flush(), timedOut]);
    if (timer !== null) this.#clock.clearTimeout(timer);
    this.#dropped += this.#queue.length;
    this.#queue.length = 0;
    this.#inflight?.abort();
    this.#wake();
    await this.flush();
  }

  #wake(): void {
    const sleep = this.#sleep;
    if (sleep === null) return;
    this.#sleep = null;
    this.#clock.clearTimeout(sleep.timer);
    sleep.wake();
  }

  #delay(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = this.#clock.setTimeout(() => {
        this.#sleep = null;
        resolve();
      }, ms);
      this.#sleep = { timer, wake: resolve };
    });
  }

  async #pump(): Promise<void> {
    this.#running = true;
    try {
      for (;;) {
        const item = this.#queue[0];
        if (item === undefined) break;
        const outcome = await this.#attempt(item);
        if (this.#queue[0] !== item) continue; // dropped by overflow or close meanwhile
        if (outcome.kind === 'delivered') {
          this.#queue.shift();
          this.#delivered++;
          continue;
        }
        this.#failures++;
        this.#warn(outcome.reason, item);
        if (outcome.kind === 'permanent' || item.attempts >= this.#maxAttempts || this.#closed) {
          this.#queue.shift();
          this.#dropped++;
          continue;
        }
        const cap = Math.min(
          this.#maxBackoffMs,
          this.#initialBackoffMs * 2 ** Math.min(item.attempts - 1, 30),
        );
        let wait = Math.floor(this.#random() * cap);
        if (outcome.retryAfterMs !== undefined)
          wait = Math.max(wait, Math.min(outcome.retryAfterMs, this.#maxBackoffMs));
        await this.#delay(wait);
      }
    } finally {
      this.#running = false;
      const idle = this.#idle;
      this.#idle = [];
      for (const resolve of idle) resolve();
    }
  }

  #warn(reason: string, item: Pending): void {
    try {
      this.#logger?.warn('webhook delivery failed', {
        reason,
        event_id: item.event.id,
        event_type: item.event.type,
        attempt: item.attempts,
      });
    } catch {
      // A logger never throws into the sink.
    }
  }

  async #attempt(
    item: Pending,
  ): Promise<
    { kind: 'delivered' } | { kind: 'retry' | 'permanent'; reason: string; retryAfterMs?: number }
  > {
    item.attempts++;
    const abort = new AbortController();
    this.#inflight = abort;
    const timer = this.#clock.setTimeout(() => abort.abort(), this.#timeoutMs);
    try {
      const timestamp = Math.floor(this.#clock.now() / 1000);
      const signature = await signWebhook({ secret: this.#secret, body: item.body, timestamp });
      const response = await this.#fetch(this.#url, {
        method: 'POST',
        body: item.body,
        signal: abort.signal,
        redirect: 'manual',
        headers: {
          ...this.#headers,
          'content-type': 'application/json',
          'user-agent': `plumbline/${SDK_VERSION}`,
          [WEBHOOK_HEADERS.signature]: signature,
          [WEBHOOK_HEADERS.eventId]: item.event.id,
          [WEBHOOK_HEADERS.eventType]: item.event.type,
          [WEBHOOK_HEADERS.attempt]: String(item.attempts),
        },
      });
      await response.body?.cancel().catch(() => undefined);
      if (response.status >= 200 && response.status < 300) return { kind: 'delivered' };
      const reason = `HTTP ${response.status}`;
      if (response.status === 408 || response.status === 429 || response.status >= 500) {
        const retryAfter = Number(response.headers.get('retry-after'));
        return Number.isFinite(retryAfter) && retryAfter >= 0
          ? { kind: 'retry', reason, retryAfterMs: retryAfter * 1000 }
          : { kind: 'retry', reason };
      }
      return { kind: 'permanent', reason };
    } catch (error) {
      const name = (error as { name?: unknown } | null)?.name;
      return { kind: 'retry', reason: name === 'AbortError' ? 'timeout' : 'network error' };
    } finally {
      this.#clock.clearTimeout(timer);
      this.#inflight = null;
    }
  }
}
