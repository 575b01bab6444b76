import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, test } from 'vitest';

const adapter = join(dirname(fileURLToPath(import.meta.url)), '..');
const root = join(adapter, '..', '..', '..');
const read = (path: string) =>
  JSON.parse(readFileSync(path, 'utf8')) as {
    version: string;
    engines?: { node?: string };
    dependencies?: Record<string, string>;
  };

type Version = readonly [number, number, number];
const parse = (text: string): Version => {
  const [a = 0, b = 0, c = 0] = text
    .replace(/^[^\d]*/, '')
    .split('.')
    .map(Number);
  return [a, b, c];
};
const compare = (a: Version, b: Version): number => a[0] - b[0] || a[1] - b[1] || a[2] - b[2];

/** Whether a version satisfies an engines range made of `^x.y.z` and `>=x.y.z` joined by `||`. */
function satisfies(version: Version, range: string): boolean {
  return range.split('||').some((part) => {
    const term = part.trim();
    const floor = parse(term);
    if (term.startsWith('>=')) return compare(version, floor) >= 0;
    if (term.startsWith('^')) return version[0] === floor[0] && compare(version, floor) >= 0;
    throw new Error(`unexpected engines range ${range}`);
  });
}

describe('the Sigstore libraries', () => {
  test('the range check reads engines ranges right', () => {
    expect(satisfies([20, 19, 0], '^20.17.0 || >=22.9.0')).toBe(true);
    expect(satisfies([20, 19, 0], '^22.22.2 || ^24.15.0 || >=26.0.0')).toBe(false);
    expect(satisfies([21, 0, 0], '^20.17.0 || >=22.9.0')).toBe(false);
  });

  test("every @sigstore dependency runs on Plumbline's minimum Node.js version", () => {
    const minimum = parse(read(join(root, 'packages', 'core', 'package.json')).engines!.node!);
    const require = createRequire(join(adapter, 'package.json'));
    const deps = Object.keys(read(join(adapter, 'package.json')).dependencies ?? {}).filter((d) =>
      d.startsWith('@sigstore/'),
    );
    expect(deps).toEqual(expect.arrayContaining(['@sigstore/sign', '@sigstore/verify']));
    for (const dep of deps) {
      let dir = dirname(require.resolve(dep));
      while (!dir.endsWith(dep)) dir = dirname(dir);
      const manifest = read(join(dir, 'package.json'));
      expect(satisfies(minimum, manifest.engines!.node!), `${dep}@${manifest.version}`).toBe(true);
    }
  });
});
