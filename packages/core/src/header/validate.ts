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

type Path = readonly (string | number)[];
type Check = (value: unknown, path: Path) => HeaderShapeProblem | undefined;

const DIGEST = /^sha256:[0-9a-f]{64}$/;
const TIMESTAMP = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/;
const FORMAT = /^plumbline\.header\/v1(\.\d+)?$/;
const COMMIT = /^([0-9a-f]{40}|[0-9a-f]{64})$/;
const EXTENSION_KEY = /^[a-z][a-z0-9-]*(\.[A-Za-z0-9_-]+)+$/;
const ROLES = new Set(['spec', 'config', 'plugin', 'other']);

const problem = (path: Path, message: string): HeaderShapeProblem => ({
  path: path.join('.'),
  message,
});

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
  (value, path) => {
    if (typeof value !== 'string') return problem(path, `expected ${what}`);
    if (pattern !== undefined && !pattern.test(value)) return problem(path, `expected ${what}`);
    if (pattern === undefined && value.length === 0)
      return problem(path, 'expected a non-empty string');
    return undefined;
  };

const anyText: Check = (value, path) =>
  typeof value === 'string' ? undefined : problem(path, 'expected a string');

const count: Check = (value, path) =>
  Number.isSafeInteger(value) && (value as number) >= 0
    ? undefined
    : problem(path, 'expected an integer >= 0');

const optional =
  (check: Check): Check =>
  (value, path) =>
    value === undefined ? undefined : check(value, path);

/** A map with these fields; other fields are kept and not checked ("loose"). */
const fields =
  (shape: Readonly<Record<string, Check>>): Check =>
  (value, path) => {
    if (!isRecord(value)) return problem(path, 'expected a map');
    for (const key in shape) {
      const found = shape[key]!(value[key], [...path, key]);
      if (found) return found;
    }
    return undefined;
  };

/** Any value a header can carry in `extensions`: null, booleans, safe integers, strings, arrays, maps. */
function headerValue(value: unknown, path: Path, depth: number): HeaderShapeProblem | undefined {
  if (value === null || typeof value === 'boolean' || typeof value === 'string') return undefined;
  if (typeof value === 'number')
    return Number.isSafeInteger(value) ? undefined : problem(path, 'expected an integer');
  // Deeper than any decoded header (CBOR depth limit 32); a hand-made value this deep is refused
  // instead of overflowing the stack.
  if (depth > 64) return problem(path, 'nested too deep');
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const found = headerValue(value[i], [...path, i], depth + 1);
      if (found) return found;
    }
    return undefined;
  }
  if (isPlainRecord(value)) {
    for (const key of Object.keys(value)) {
      const found = headerValue(value[key], [...path, key], depth + 1);
      if (found) return found;
    }
    return undefined;
  }
  return problem(path, 'expected null, a boolean, an integer, a string, an array or a map');
}

const entry = fields({
  path: text(),
  size: count,
  digest: text(DIGEST, 'a sha256: digest'),
  role: optional((value, path) =>
    typeof value === 'string' && ROLES.has(value)
      ? undefined
      : problem(path, 'expected spec, config, plugin or other'),
  ),
  media_type: optional(anyText),
});

const inputs: Check = (value, path) => {
  if (!Array.isArray(value)) return problem(path, 'expected an array');
  for (let i = 0; i < value.length; i++) {
    const found = entry(value[i], [...path, i]);
    if (found) return found;
  }
  return undefined;
};

const extensions: Check = (value, path) => {
  if (!isPlainRecord(value)) return problem(path, 'expected a map');
  for (const key of Object.keys(value)) {
    if (!EXTENSION_KEY.test(key)) return problem([...path, key], 'expected a namespaced key');
    const found = headerValue(value[key], [...path, key], 1);
    if (found) return found;
  }
  return undefined;
};

const header = fields({
  format: text(FORMAT, 'plumbline.header/v1'),
  artifact_hash: text(DIGEST, 'a sha256: digest'),
  hash_alg: (value, path) => (value === 'sha256' ? undefined : problem(path, 'expected "sha256"')),
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
  return header(value, []);
}
