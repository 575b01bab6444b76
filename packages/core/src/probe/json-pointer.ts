import { PlumblineError } from '../errors.js';
import type { JsonValue } from './jcs.js';

/**
 * The value an RFC 6901 JSON pointer names (`''` is the whole document).
 *
 * @example
 * ```ts
 * resolveJsonPointer({ a: [{ b: 1 }] }, '/a/0/b'); // 1
 * ```
 * @throws {@link PlumblineError} `PLB_PROBE_INVALID_OPTION` for a pointer that does not start with
 *   `/`; `PLB_PROBE_NOT_FOUND` when the document has no such value.
 * @public
 */
export function resolveJsonPointer(document: JsonValue, pointer: string): JsonValue {
  if (pointer === '') return document;
  if (!pointer.startsWith('/')) {
    throw new PlumblineError(
      'PLB_PROBE_INVALID_OPTION',
      'a JSON pointer is empty or starts with "/"',
    );
  }
  let value: JsonValue = document;
  for (const raw of pointer.slice(1).split('/')) {
    const token = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    if (Array.isArray(value) && /^(0|[1-9][0-9]*)$/.test(token) && Number(token) < value.length) {
      value = value[Number(token)] as JsonValue;
    } else if (
      value !== null &&
      typeof value === 'object' &&
      !Array.isArray(value) &&
      Object.prototype.hasOwnProperty.call(value, token)
    ) {
      value = (value as { readonly [key: string]: JsonValue })[token]!;
    } else {
      throw new PlumblineError('PLB_PROBE_NOT_FOUND', `the response has no value at ${pointer}`, {
        details: { pointer },
      });
    }
  }
  return value;
}

/**
 * A copy of a JSON value without the members named in `names`, at any depth (for volatile
 * members such as Envoy's `last_updated`).
 *
 * @example
 * ```ts
 * withoutMembers({ a: 1, last_updated: 't' }, new Set(['last_updated'])); // { a: 1 }
 * ```
 * @public
 */
export function withoutMembers(value: JsonValue, names: ReadonlySet<string>): JsonValue {
  if (names.size === 0 || value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) return value.map((item: JsonValue) => withoutMembers(item, names));
  const out: Record<string, JsonValue> = {};
  for (const [key, item] of Object.entries(value as { readonly [key: string]: JsonValue })) {
    if (!names.has(key)) out[key] = withoutMembers(item, names);
  }
  return out;
}
