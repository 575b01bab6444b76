import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { headerSchema } from '@plumbline/core/header';
import { findHeaderShapeProblem } from '../../src/header/validate.js';
import { sampleHeader } from './sample.js';

// Values a mutation puts somewhere in a header: valid and invalid for every field's rule.
const replacement = fc.oneof(
  fc.constantFrom<unknown>(
    undefined,
    null,
    true,
    0,
    -1,
    1.5,
    Number.NaN,
    2 ** 53,
    '',
    'x',
    'sha256',
    `sha256:${'a'.repeat(64)}`,
    `sha256:${'A'.repeat(64)}`,
    'plumbline.header/v1',
    'plumbline.header/v1.3',
    'plumbline.header/v2',
    '2024-01-01T00:00:00Z',
    '2024-01-01 00:00:00',
    'f'.repeat(40),
    'f'.repeat(41),
    'spec',
    'config',
    'plugin',
    'other',
    'script',
    [],
    {},
    new Uint8Array([1]),
    { 'com.example.x': 1 },
    { 'Bad.key': 1 },
    { nodots: 1 },
    { 'com.example.y': [1, { a: null }] },
    { 'com.example.y': 1.5 },
    { 'com.example.y': new Uint8Array([1]) },
    { path: 'a', size: 0, digest: `sha256:${'0'.repeat(64)}` },
    [{ path: 'a', size: 0, digest: `sha256:${'0'.repeat(64)}`, role: 'spec' }],
    [{ path: '', size: 0, digest: `sha256:${'0'.repeat(64)}` }],
  ),
  fc.string(),
  fc.integer(),
);

type Path = readonly (string | number)[];

/** Every place in a value (maps and arrays included), as paths from the root. */
function placesOf(value: unknown, path: Path = []): Path[] {
  if (value === null || typeof value !== 'object' || value instanceof Uint8Array) return [path];
  const keys: (string | number)[] = Array.isArray(value)
    ? value.map((_, i) => i)
    : Object.keys(value);
  return [
    path,
    ...keys.flatMap((k) => placesOf((value as Record<string, unknown>)[k], [...path, k])),
  ];
}

/** Sets (or, for undefined in a map, deletes) the value at a path. */
function mutate(root: unknown, path: Path, value: unknown): unknown {
  if (path.length === 0) return value;
  const copy = structuredClone(root) as Record<string | number, unknown>;
  let node = copy;
  for (const key of path.slice(0, -1)) node = node[key] as Record<string | number, unknown>;
  const last = path[path.length - 1]!;
  if (value === undefined && !Array.isArray(node)) delete node[last];
  else node[last] = value;
  return copy;
}

describe('the header validator', () => {
  test('accepts exactly what headerSchema accepts', () => {
    const base = sampleHeader();
    expect(findHeaderShapeProblem(base)).toBeUndefined();
    let rejected = 0;
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.nat(), replacement), { minLength: 1, maxLength: 3 }),
        (changes) => {
          let value: unknown = base;
          for (const [choice, replacement] of changes) {
            const places = placesOf(value);
            value = mutate(value, places[choice % places.length]!, replacement);
          }
          const zod = headerSchema.safeParse(value).success;
          const problem = findHeaderShapeProblem(value);
          if (problem) rejected++;
          expect(problem === undefined, JSON.stringify(problem)).toBe(zod);
        },
      ),
      { numRuns: 3000 },
    );
    // The mutations reach both outcomes often.
    expect(rejected).toBeGreaterThan(300);
  });

  test('names the path of the first problem', () => {
    const header = structuredClone(sampleHeader()) as unknown as { inputs: { digest: string }[] };
    header.inputs[1]!.digest = 'sha256:00';
    expect(findHeaderShapeProblem(header)).toEqual({
      path: 'inputs.1.digest',
      message: 'expected a sha256: digest',
    });
    expect(findHeaderShapeProblem([])).toEqual({ path: '', message: 'expected a map' });
  });
});
