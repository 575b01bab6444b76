import { decodeUtf8 } from '../encoding/utf8.js';
import type { JsonValue } from './jcs.js';
import type { CanonicalConfig } from './probe.js';

/**
 * Default number of differences {@link describeDifferences} names.
 *
 * @public
 */
export const DEFAULT_MAX_DIFFERENCES = 32;

/** Longest difference entry, in characters (longer ones are cut). */
const ENTRY_MAX = 256;

function pointerToken(key: string): string {
  return key.replace(/~/g, '~0').replace(/\//g, '~1');
}

function kindOf(value: JsonValue): string {
  return value === null ? 'null' : Array.isArray(value) ? 'array' : typeof value;
}

function walk(a: JsonValue, b: JsonValue, path: string, out: string[], max: number): void {
  if (out.length >= max) return;
  const kind = kindOf(a);
  if (kind !== kindOf(b)) {
    out.push(path === '' ? '/' : path);
    return;
  }
  if (kind === 'array') {
    const x = a as readonly JsonValue[];
    const y = b as readonly JsonValue[];
    const n = Math.max(x.length, y.length);
    for (let i = 0; i < n && out.length < max; i++) {
      if (i >= x.length || i >= y.length) out.push(`${path}/${i}`);
      else walk(x[i]!, y[i]!, `${path}/${i}`, out, max);
    }
    return;
  }
  if (kind === 'object') {
    const x = a as { readonly [key: string]: JsonValue };
    const y = b as { readonly [key: string]: JsonValue };
    const keys = [...new Set([...Object.keys(x), ...Object.keys(y)])].sort();
    for (const key of keys) {
      if (out.length >= max) return;
      const child = `${path}/${pointerToken(key)}`;
      if (!(key in x) || !(key in y)) out.push(child);
      else walk(x[key]!, y[key]!, child, out, max);
    }
    return;
  }
  if (a !== b) out.push(path === '' ? '/' : path);
}

function lineDifferences(expected: string[], live: string[], max: number): string[] {
  let start = 0;
  while (start < expected.length && start < live.length && expected[start] === live[start]) start++;
  let endE = expected.length;
  let endL = live.length;
  while (endE > start && endL > start && expected[endE - 1] === live[endL - 1]) {
    endE--;
    endL--;
  }
  const out: string[] = [];
  const name = (line: string): string => line.split(' ', 1)[0]!.replace(/[;{]$/, '');
  for (let i = start; i < endE && out.length < max; i++)
    out.push(`-${i + 1}: ${name(expected[i]!)}`);
  for (let i = start; i < endL && out.length < max; i++) out.push(`+${i + 1}: ${name(live[i]!)}`);
  return out;
}

/**
 * Names where a live configuration differs from the expected one, both in canonical form (and so
 * already redacted): RFC 6901 JSON pointers for JSON (`/apps/http/servers/srv0/listen/0`), and
 * for text the numbers of the normalised lines that differ with their directive name only
 * (`-12: listen`, `+12: listen`: `-` for the expected side, `+` for the live side), never values.
 * At most `max` entries; an empty list when the two are equal or of different formats.
 *
 * @example
 * ```ts
 * describeDifferences(canonicalizeJsonValue({ a: 1 }), canonicalizeJsonValue({ a: 2 })); // ['/a']
 * ```
 * @public
 */
export function describeDifferences(
  expected: CanonicalConfig,
  live: CanonicalConfig,
  max: number = DEFAULT_MAX_DIFFERENCES,
): string[] {
  if (expected.digest === live.digest || expected.format !== live.format) return [];
  let out: string[];
  if (expected.format === 'json') {
    out = [];
    const a = JSON.parse(decodeUtf8(expected.bytes)) as JsonValue;
    const b = JSON.parse(decodeUtf8(live.bytes)) as JsonValue;
    walk(a, b, '', out, max);
  } else if (expected.format === 'text') {
    out = lineDifferences(
      decodeUtf8(expected.bytes).split('\n'),
      decodeUtf8(live.bytes).split('\n'),
      max,
    );
  } else {
    out = ['(bytes)'];
  }
  return out.map((entry) => (entry.length > ENTRY_MAX ? entry.slice(0, ENTRY_MAX) : entry));
}
