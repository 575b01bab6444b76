import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, test } from 'vitest';

const core = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const pkg = JSON.parse(readFileSync(join(core, 'package.json'), 'utf8')) as {
  dependencies: Record<string, string>;
};
const readme = readFileSync(join(core, 'README.md'), 'utf8').replace(/\s+/g, ' ');

function names(list: string): string[] {
  return list
    .split(/,| and /)
    .map((s) => s.trim())
    .filter(Boolean);
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory()
      ? sourceFiles(join(dir, e.name))
      : e.name.endsWith('.ts')
        ? [join(dir, e.name)]
        : [],
  );
}

interface Manifest {
  name: string;
  dependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
  gypfile?: boolean;
  scripts?: Record<string, string>;
}

/** Every package core's dependencies bring in, found as Node resolves them. */
function closure(): Map<string, { dir: string; manifest: Manifest }> {
  const seen = new Map<string, { dir: string; manifest: Manifest }>();
  const visit = (name: string, from: string): void => {
    if (seen.has(name)) return;
    const require = createRequire(join(from, 'package.json'));
    let dir = dirname(require.resolve(name));
    while (!existsSync(join(dir, 'package.json')) || !dir.includes(name)) dir = dirname(dir);
    const manifest = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as Manifest;
    seen.set(name, { dir, manifest });
    for (const dep of Object.keys(manifest.dependencies ?? {})) visit(dep, dir);
    for (const dep of Object.keys(manifest.optionalDependencies ?? {})) visit(dep, dir);
  };
  for (const name of Object.keys(pkg.dependencies)) visit(name, core);
  return seen;
}

describe('what core depends on', () => {
  test("the README's list of dependencies is package.json's", () => {
    const match =
      /It depends on (.+?) only \(plus (.+?), used by the `\/node` entry point alone\)/.exec(
        readme,
      );
    expect(match).not.toBeNull();
    const everywhere = names(match![1]!);
    const nodeOnly = names(match![2]!);
    expect([...everywhere, ...nodeOnly].sort()).toEqual(Object.keys(pkg.dependencies).sort());
    // "used by the /node entry point alone": no runtime-neutral source imports them.
    for (const file of sourceFiles(join(core, 'src'))) {
      if (relative(join(core, 'src'), file).startsWith('node/')) continue;
      const text = readFileSync(file, 'utf8');
      for (const name of nodeOnly) expect(text, file).not.toMatch(new RegExp(`from '${name}`));
    }
  });

  test('no package core brings in is a native add-on or runs an install script', () => {
    const all = closure();
    expect(all.size).toBeGreaterThanOrEqual(Object.keys(pkg.dependencies).length);
    for (const [name, { dir, manifest }] of all) {
      expect(manifest.gypfile ?? false, name).toBe(false);
      expect(existsSync(join(dir, 'binding.gyp')), name).toBe(false);
      expect(manifest.optionalDependencies ?? {}, name).toEqual({});
      for (const script of ['preinstall', 'install', 'postinstall']) {
        expect(manifest.scripts?.[script], `${name} ${script}`).toBeUndefined();
      }
    }
  });

  test('runtime-neutral sources read no environment variable', () => {
    for (const file of sourceFiles(join(core, 'src'))) {
      if (relative(join(core, 'src'), file).startsWith('node/')) continue;
      // Code, not TSDoc examples: comment lines are left out.
      const code = readFileSync(file, 'utf8')
        .split('\n')
        .filter((line) => !/^\s*(\*|\/\/|\/\*)/.test(line))
        .join('\n');
      expect(code, file).not.toMatch(/process\.env|Deno\.env|Bun\.env/);
    }
  });
});
