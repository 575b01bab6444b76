/**
 * The header's structural rules as a plain validator: what `headerSchema` (zod) says, checked in
 * place without copying the value and without zod, so that reading a header costs only its bytes
 * and its decoded value, and a bundle of the verify path carries no schema library. A property test
 * checks that this validator and `headerSchema` accept exactly the same values.
 */

/** Where a header breaks the rules, and how. @internal */
export interface HeaderShapeProblem {
  /** Dotted path of the offending field (`inputs.3.digest`), empty for the root. */
  readonly path: string;
  /** What is wrong with it. */
  readonly message: string;
}

/**
 * A problem found below the top: the path is collected on the way back up (innermost segment
 * first), so a valid header of millions of items allocates no path per item.
 */
interface Found {
  readonly reversedPath: (string | number)[];
  readonly message: string;
}
type Check = (value: unknown) => Found | undefined;

const DIGEST = /^sha256:[0-9a-f]{64}$/;
const TIMESTAMP = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/;
const FORMAT = /^plumbline\.header\/v1(\.\d+)?$/;
const COMMIT = /^([0-9a-f]{40}|[0-9a-f]{64})$/;
const EXTENSION_KEY = /^[a-z][a-z0-9-]*(\.[A-Za-z0-9_-]+)+$/;
const ROLES = new Set(['spec', 'config', 'plugin', 'other']);

const problem = (message: string): Found => ({ reversedPath: [], message });

/** `found` one level down, under `segment`. */
function under(found: Found | undefined, segment: string | number): Found | undefined {
  found?.reversedPath.push(segment);
  return found;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** A map of arbitrary keys (zod's `record`): a plain object, not a class instance or a byte array. */
function isPlainRecord(value: unknown): value is Record<string, unknown> {
  if (!isRecord(value)) return false;
  const proto = Object.getPrototypeOf(value) as unknown;
  return proto === Object.prototype || proto === null;
}

const text =
  (pattern?: RegExp, what = 'a string'): Check =>
  (value) => {
    if (typeof value !== 'string') return problem(`expected ${what}`);
    if (pattern !== undefined && !pattern.test(value)) return problem(`expected ${what}`);
    if (pattern === undefined && value.length === 0) return problem('expected a non-empty string');
    return undefined;
  };

const anyText: Check = (value) =>
  typeof value === 'string' ? undefined : problem('expected a string');

const count: Check = (value) =>
  Number.isSafeInteger(value) && (value as number) >= 0
    ? undefined
    : problem('expected an integer >= 0');

const optional =
  (check: Check): Check =>
  (value) =>
    value === undefined ? undefined : check(value);

/** A map with these fields; other fields are kept and not checked ("loose"). */
const fields = (shape: Readonly<Record<string, Check>>): Check => {
  const keys = Object.keys(shape);
  const checks = keys.map((key) => shape[key]!);
  return (value) => {
    if (!isRecord(value)) return problem('expected a map');
    for (let i = 0; i < keys.length; i++) {
      const found = checks[i]!(value[keys[i]!]);
      if (found) return under(found, keys[i]!);
    }
    return undefined;
  };
};

/** Any value a header can carry in `extensions`: null, booleans, safe integers, strings, arrays, maps. */
function headerValue(value: unknown, depth: number): Found | undefined {
  if (value === null || typeof value === 'boolean' || typeof value === 'string') return undefined;
  if (typeof value === 'number')
    return Number.isSafeInteger(value) ? undefined : problem('expected an integer');
  // Deeper than any decoded header (CBOR depth limit 32); a hand-made value this deep is refused
  // instead of overflowing the stack.
  if (depth > 64) return problem('nested too deep');
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const item: unknown = value[i];
      // Scalars inline: an array of millions of integers costs no call per item.
      if (typeof item === 'number' ? Number.isSafeInteger(item) : scalar(item)) continue;
      const found = headerValue(item, depth + 1);
      if (found) return under(found, i);
    }
    return undefined;
  }
  if (isPlainRecord(value)) {
    for (const key of Object.keys(value)) {
      const found = headerValue(value[key], depth + 1);
      if (found) return under(found, key);
    }
    return undefined;
  }
  return problem('expected null, a boolean, an integer, a string, an array or a map');
}

function scalar(value: unknown): boolean {
  return value === null || typeof value === 'boolean' || typeof value === 'string';
}

const entry = fields({
  path: text(),
  size: count,
  digest: text(DIGEST, 'a sha256: digest'),
  role: optional((value) =>
    typeof value === 'string' && ROLES.has(value)
      ? undefined
      : problem('expected spec, config, plugin or other'),
  ),
  media_type: optional(anyText),
});

const inputs: Check = (value) => {
  if (!Array.isArray(value)) return problem('expected an array');
  for (let i = 0; i < value.length; i++) {
    const found = entry(value[i]);
    if (found) return under(found, i);
  }
  return undefined;
};

const extensions: Check = (value) => {
  if (!isPlainRecord(value)) return problem('expected a map');
  for (const key of Object.keys(value)) {
    if (!EXTENSION_KEY.test(key)) return under(problem('expected a namespaced key'), key);
    const found = headerValue(value[key], 1);
    if (found) return under(found, key);
  }
  return undefined;
};

const header = fields({
  format: text(FORMAT, 'plumbline.header/v1'),
  artifact_hash: text(DIGEST, 'a sha256: digest'),
  hash_alg: (value) => (value === 'sha256' ? undefined : problem('expected "sha256"')),
  build_timestamp: text(TIMESTAMP, 'a UTC timestamp YYYY-MM-DDTHH:MM:SSZ'),
  provenance: fields({
    commit: optional(text(COMMIT, 'a 40- or 64-hex git object id')),
    source: optional(text()),
    ref: optional(text()),
    builder: fields({ id: text(), version: text() }),
    build_url: optional(text()),
  }),
  inputs,
  payload: fields({
    digest: text(DIGEST, 'a sha256: digest'),
    size: count,
    media_type: text(),
  }),
  extensions,
});

/**
 * The first place where `value` breaks the header's structural rules, or `undefined` when it
 * keeps them all. Never throws; never copies the value.
 *
 * @internal
 */
export function findHeaderShapeProblem(value: unknown): HeaderShapeProblem | undefined {
  const found = header(value);
  if (found === undefined) return undefined;
  return { path: found.reversedPath.reverse().join('.'), message: found.message };
}
