/**
 * The live-configuration probe: the extension point that asks a running gateway what
 * configuration it runs now (not what is on disk), in a canonical form whose digest does not
 * change with formatting.
 *
 * @packageDocumentation
 */
import type { PlumblineErrorCode } from '../errors.js';
import { limitOption } from '../limit-option.js';
import type { DigestString } from '../hash/digest.js';

/**
 * How a canonical configuration is written: RFC 8785 JSON, normalised configuration text
 * (comments and whitespace removed, see docs/guides/live-config-probes.md), or the bytes as given.
 *
 * @public
 */
export type CanonicalFormat = 'json' | 'text' | 'bytes';

/**
 * A configuration in canonical form, with secrets already redacted: the bytes a digest is taken
 * of, and that digest. Canonical bytes never leave the node; the digest does.
 *
 * @public
 */
export interface CanonicalConfig {
  /** How `bytes` is written. */
  readonly format: CanonicalFormat;
  /** The canonical bytes (UTF-8 for `json` and `text`). */
  readonly bytes: Uint8Array;
  /** `sha256:` of `bytes`. */
  readonly digest: DigestString;
}

/**
 * What one probe call found.
 *
 * - `ok`: the gateway runs `config`.
 * - `reload_pending`: the gateway runs `config`, and its files on disk changed after it loaded
 *   them (a reload would change what it runs). Not drift.
 * - `failing`: the probe could not tell (gateway down, admin API refused, output malformed): a
 *   coded reason, never a guess.
 *
 * @public
 */
export type ProbeResult =
  | {
      readonly status: 'ok' | 'reload_pending';
      readonly config: CanonicalConfig;
      /** For `reload_pending`: the files on disk newer than the running generation (names only). */
      readonly pending?: readonly string[];
      /** When the probe ran (RFC 3339). */
      readonly at: string;
    }
  | {
      readonly status: 'failing';
      /** Why, as a stable code such as `PLB_PROBE_UNREACHABLE`. */
      readonly code: PlumblineErrorCode;
      /** A short message without secrets. */
      readonly message: string;
      /** When the probe ran (RFC 3339). */
      readonly at: string;
    };

/**
 * A live-configuration probe. `probe` never throws: every failure is a `failing` result with a
 * code. `canonicalize` turns the bytes a sealed artifact carries as its payload into the same
 * canonical form, so that the node can tell whether the gateway runs what the artifact says.
 *
 * Implementations bound every call (a timeout and a response size), send credentials only to
 * the configured URL, and redact secrets before a digest is taken. The conformance suite
 * `describeProbeConformance` in `@plumbline/core/testing` checks a probe against these rules.
 *
 * @example
 * ```ts
 * import { createCaddyProbe } from '@plumbline/core/probe';
 * const probe = createCaddyProbe({ url: 'http://127.0.0.1:2019' });
 * const result = await probe.probe();
 * if (result.status !== 'failing') console.log(result.config.digest);
 * ```
 * @public
 */
export interface LiveConfigProbe {
  /** The kind of gateway, such as `caddy`, `nginx`, `haproxy`, `http-json`, `command`. */
  readonly kind: string;
  /** Where it looks, without credentials (a URL without userinfo, a path, a command name). */
  readonly target: string;
  /** Asks the gateway what it runs now. Never throws; honours `signal`. */
  probe(signal?: AbortSignal): Promise<ProbeResult>;
  /**
   * The canonical form of an artifact payload for this gateway (its configuration as sealed).
   *
   * @throws {@link PlumblineError} `PLB_PROBE_MALFORMED` when the payload is not a configuration
   *   of this kind; `PLB_PROBE_TOO_LARGE` over the probe's size limit.
   */
  canonicalize(payload: Uint8Array): CanonicalConfig;
  /** Releases what the probe holds (child processes, timers). Idempotent. */
  close?(): Promise<void>;
}

/**
 * Default limits of the built-in probes.
 *
 * @public
 */
export const DEFAULT_PROBE_LIMITS = Object.freeze({
  /** Longest a probe call may take: 5,000 ms. */
  timeoutMs: 5000,
  /** Largest live configuration read: 16 MiB. */
  maxBytes: 16 * 1024 * 1024,
  /** Deepest JSON nesting accepted: 256. */
  maxDepth: 256,
});

/**
 * A probe's limit option checked (`PLB_PROBE_INVALID_OPTION` when it is not a positive number),
 * or its default from {@link DEFAULT_PROBE_LIMITS}.
 *
 * @internal
 */
export function probeLimit(
  value: number | undefined,
  name: keyof typeof DEFAULT_PROBE_LIMITS,
): number {
  return limitOption(value, {
    name,
    code: 'PLB_PROBE_INVALID_OPTION',
    fallback: DEFAULT_PROBE_LIMITS[name],
  });
}

/**
 * Limits every built-in probe takes.
 *
 * @public
 */
export interface ProbeLimits {
  /** Longest a probe call may take, in milliseconds. Default 5,000. */
  readonly timeoutMs?: number;
  /** Largest live configuration read, in bytes. Default 16 MiB. */
  readonly maxBytes?: number;
}
