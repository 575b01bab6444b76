import { decodeUtf8 } from '../encoding/utf8.js';
import { PlumblineError } from '../errors.js';
import { canonicalizeJsonValue, checkSize } from './canonical.js';
import { parseJsonBounded, type JsonValue } from './jcs.js';
import { resolveJsonPointer, withoutMembers } from './json-pointer.js';
import { fetchBounded, probeEndpoint, settle } from './http.js';
import { createSecretRedactor, type SecretRedactor } from './redact.js';
import {
  type CanonicalConfig,
  type LiveConfigProbe,
  type ProbeLimits,
  probeLimit,
} from './probe.js';

/**
 * Options of {@link createHttpJsonProbe}.
 *
 * @public
 */
export interface HttpJsonProbeOptions extends ProbeLimits {
  /**
   * The URL to GET (`http:` or `https:`). Userinfo in it becomes a Basic `Authorization` header,
   * sent to this URL only; redirects are refused.
   */
  readonly url: string;
  /** RFC 6901 pointer to the configuration inside the response. Default `''` (all of it). */
  readonly pointer?: string;
  /** Pointer to the same configuration inside an artifact payload. Default `pointer`. */
  readonly payloadPointer?: string;
  /** Member names removed at any depth before canonicalizing (volatile fields, such as `last_updated`). */
  readonly ignoreMembers?: readonly string[];
  /** Extra request headers (such as a bearer token), sent to `url` only. */
  readonly headers?: Readonly<Record<string, string>>;
  /** The `kind` reported. Default `http-json`. */
  readonly kind?: string;
  /** Replaces secrets before digests are taken. Default: a redactor with a random key. */
  readonly redactor?: SecretRedactor;
  /** Deepest JSON nesting. Default 256. */
  readonly maxDepth?: number;
  /** The fetch implementation. Default the global `fetch`. */
  readonly fetch?: typeof fetch;
}

/**
 * A probe that GETs a URL and takes the JSON value at a pointer as the live configuration, in
 * RFC 8785 form with secrets redacted. Fits any gateway that serves its running configuration
 * as JSON: Envoy's `/config_dump`, Traefik's `/api/rawdata`, Kong's `/status`
 * (`/configuration_hash`), a Plumbline data plane's `/_admin/provenance` (`/artifact_hash`).
 *
 * @example
 * ```ts
 * const probe = createHttpJsonProbe({
 *   url: 'http://127.0.0.1:9901/config_dump', ignoreMembers: ['last_updated'],
 * });
 * ```
 * @throws {@link PlumblineError} `PLB_PROBE_INVALID_OPTION` for a bad URL, pointer or limit.
 * @public
 */
export function createHttpJsonProbe(options: HttpJsonProbeOptions): LiveConfigProbe {
  const endpoint = probeEndpoint(options.url, options.headers);
  const pointer = options.pointer ?? '';
  const payloadPointer = options.payloadPointer ?? pointer;
  for (const p of [pointer, payloadPointer]) {
    if (p !== '' && !p.startsWith('/')) resolveJsonPointer(null, p);
  }
  const timeoutMs = probeLimit(options.timeoutMs, 'timeoutMs');
  const maxBytes = probeLimit(options.maxBytes, 'maxBytes');
  const maxDepth = probeLimit(options.maxDepth, 'maxDepth');
  const ignore = new Set(options.ignoreMembers ?? []);
  const redactor = options.redactor ?? createSecretRedactor();

  const canonical = (bytes: Uint8Array, at: string): CanonicalConfig => {
    checkSize(bytes.length, maxBytes);
    let text: string;
    try {
      text = decodeUtf8(bytes);
    } catch (cause) {
      throw new PlumblineError('PLB_PROBE_MALFORMED', 'the configuration is not valid UTF-8', {
        cause,
      });
    }
    const value: JsonValue = resolveJsonPointer(parseJsonBounded(text, maxDepth), at);
    return canonicalizeJsonValue(withoutMembers(value, ignore), { redactor });
  };

  return {
    kind: options.kind ?? 'http-json',
    target: endpoint.display,
    probe: (signal) =>
      settle(async () => {
        const bytes = await fetchBounded(endpoint, {
          timeoutMs,
          maxBytes,
          ...(signal === undefined ? {} : { signal }),
          ...(options.fetch === undefined ? {} : { fetch: options.fetch }),
        });
        return { config: canonical(bytes, pointer) };
      }),
    canonicalize: (payload) => canonical(payload, payloadPointer),
  };
}

/**
 * Options of {@link createCaddyProbe}.
 *
 * @public
 */
export interface CaddyProbeOptions extends ProbeLimits {
  /** Caddy's admin endpoint, such as `http://127.0.0.1:2019` (Caddy's default). */
  readonly url: string;
  /** Extra request headers, sent to `url` only. */
  readonly headers?: Readonly<Record<string, string>>;
  /** Replaces secrets before digests are taken. Default: a redactor with a random key. */
  readonly redactor?: SecretRedactor;
  /** The fetch implementation. Default the global `fetch`. */
  readonly fetch?: typeof fetch;
}

/**
 * A probe of Caddy's running configuration: `GET /config/` on its admin API returns the JSON
 * configuration Caddy runs now, including changes made through `POST /load` or `PATCH /config/…`.
 * The artifact payload is the Caddy JSON configuration (`caddy adapt` turns a Caddyfile into it).
 *
 * @example
 * ```ts
 * const probe = createCaddyProbe({ url: 'http://127.0.0.1:2019' });
 * ```
 * @throws {@link PlumblineError} `PLB_PROBE_INVALID_OPTION` for a bad URL or limit.
 * @public
 */
export function createCaddyProbe(options: CaddyProbeOptions): LiveConfigProbe {
  const base = probeEndpoint(options.url).url;
  base.username = new URL(options.url).username;
  base.password = new URL(options.url).password;
  base.pathname = `${base.pathname.replace(/\/+$/, '')}/config/`;
  return createHttpJsonProbe({
    ...options,
    url: base.href,
    kind: 'caddy',
  });
}
