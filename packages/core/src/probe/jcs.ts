import { PlumblineError } from '../errors.js';
import type { SecretRedactor } from './redact.js';

/**
 * A JSON value as `JSON.parse` returns it.
 *
 * @public
 */
export type JsonValue =
  null | boolean | number | string | readonly JsonValue[] | { readonly [key: string]: JsonValue };

function malformed(message: string, cause?: unknown): PlumblineError {
  return new PlumblineError('PLB_PROBE_MALFORMED', message, cause === undefined ? {} : { cause });
}

/**
 * Deepest nesting of `[` and `{` in JSON text, counted without parsing (strings skipped), so a
 * hostile document is refused before `JSON.parse` recurses into it.
 *
 * @internal
 */
export function jsonDepthExceeds(text: string, maxDepth: number): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++;
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x5b || c === 0x7b) {
      if (++depth > maxDepth) return true;
    } else if (c === 0x5d || c === 0x7d) depth--;
  }
  return false;
}

/**
 * Parses JSON text with a nesting limit checked before parsing.
 *
 * @example
 * ```ts
 * parseJsonBounded('{"a":[1,2]}', 64);
 * ```
 * @throws {@link PlumblineError} `PLB_PROBE_MALFORMED` for text that is not JSON or nests deeper
 *   than `maxDepth`.
 * @public
 */
export function parseJsonBounded(text: string, maxDepth: number): JsonValue {
  if (jsonDepthExceeds(text, maxDepth)) {
    throw malformed(`the JSON nests deeper than ${maxDepth} levels`);
  }
  try {
    return JSON.parse(text) as JsonValue;
  } catch (cause) {
    throw malformed('the configuration is not valid JSON', cause);
  }
}

const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

function writeString(text: string, out: string[]): void {
  if (LONE_SURROGATE.test(text)) {
    throw malformed(
      'a JSON string holds a lone surrogate (not I-JSON, so it has no RFC 8785 form)',
    );
  }
  // JSON.stringify writes exactly RFC 8785's escapes for well-formed strings.
  out.push(JSON.stringify(text));
}

function writeValue(
  value: JsonValue,
  out: string[],
  redactor: SecretRedactor | undefined,
  secret: boolean,
): void {
  if (value === null || typeof value === 'boolean') {
    out.push(String(value));
  } else if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw malformed('a JSON number is not finite');
    // ECMAScript Number-to-String is RFC 8785's number form (JSON.stringify maps -0 to 0).
    out.push(JSON.stringify(value));
  } else if (typeof value === 'string') {
    if (redactor === undefined) writeString(value, out);
    else writeString(secret ? redactor.marker(value) : redactor.scrub(value), out);
  } else if (Array.isArray(value)) {
    out.push('[');
    for (let i = 0; i < value.length; i++) {
      if (i > 0) out.push(',');
      writeValue(value[i] as JsonValue, out, redactor, secret);
    }
    out.push(']');
  } else {
    const object = value as { readonly [key: string]: JsonValue };
    // Default sort compares UTF-16 code units, the order RFC 8785 §3.2.3 prescribes.
    const keys = Object.keys(object).sort();
    out.push('{');
    for (let i = 0; i < keys.length; i++) {
      const key = keys[i]!;
      if (i > 0) out.push(',');
      writeString(key, out);
      out.push(':');
      writeValue(
        object[key] as JsonValue,
        out,
        redactor,
        secret || (redactor !== undefined && redactor.isSecretName(key)),
      );
    }
    out.push('}');
  }
}

/**
 * Serializes a JSON value in the JSON Canonicalization Scheme (RFC 8785): members sorted by the
 * UTF-16 code units of their names, no whitespace, ECMAScript number forms, minimal string
 * escapes. With a redactor, every string under a member that names a secret (and every secret
 * inside other strings) is replaced by its marker first.
 *
 * @example
 * ```ts
 * canonicalJson({ b: 1, a: [true, 'x'] }); // '{"a":[true,"x"],"b":1}'
 * ```
 * @throws {@link PlumblineError} `PLB_PROBE_MALFORMED` for a non-finite number or a lone
 *   surrogate (values outside I-JSON).
 * @public
 */
export function canonicalJson(value: JsonValue, redactor?: SecretRedactor): string {
  const out: string[] = [];
  writeValue(value, out, redactor, false);
  return out.join('');
}
