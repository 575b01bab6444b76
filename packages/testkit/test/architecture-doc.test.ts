import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';

const root = join(import.meta.dirname, '../../..');

/** The adapter table of docs/architecture.md: package name → the dependencies it names. */
function documentedDependencies(): Map<string, string[]> {
  const doc = readFileSync(join(root, 'docs/architecture.md'), 'utf8');
  const rows = new Map<string, string[]>();
  for (const line of doc.split('\n')) {
    const cells = line.split('|').map((cell) => cell.trim());
    const name = /^`(@plumbline\/[a-z]+)`$/.exec(cells[1] ?? '')?.[1];
    if (name === undefined || cells.length < 5) continue;
    rows.set(
      name,
      [...(cells[3] ?? '').matchAll(/`([^`]+)`/g)].map((m) => m[1] ?? ''),
    );
  }
  return rows;
}

describe('docs/architecture.md', () => {
  const rows = documentedDependencies();
  const adapters = readdirSync(join(root, 'packages/adapters'));

  test('names every adapter', () => {
    const names = adapters.map(
      (dir) =>
        (
          JSON.parse(
            readFileSync(join(root, 'packages/adapters', dir, 'package.json'), 'utf8'),
          ) as {
            name: string;
          }
        ).name,
    );
    expect([...rows.keys()].sort()).toEqual(names.sort());
  });

  test.each(adapters)('lists exactly the dependencies of packages/adapters/%s', (dir) => {
    const pkg = JSON.parse(
      readFileSync(join(root, 'packages/adapters', dir, 'package.json'), 'utf8'),
    ) as { name: string; dependencies?: Record<string, string> };
    expect(rows.get(pkg.name)?.slice().sort()).toEqual(Object.keys(pkg.dependencies ?? {}).sort());
  });
});

describe('comments in shipped source', () => {
  test('point at documents a reader of the package has (docs/, READMEs), never the design notes', () => {
    const offenders: string[] = [];
    const walk = (dir: string): void => {
      for (const entry of readdirSync(dir, { withFileTypes: true })) {
        const path = join(dir, entry.name);
        if (entry.isDirectory()) walk(path);
        else if (
          /\.(ts|css|html)$/.test(entry.name) &&
          readFileSync(path, 'utf8').includes('DESIGN.md')
        )
          offenders.push(path.slice(root.length + 1));
      }
    };
    for (const group of ['packages', 'packages/adapters']) {
      for (const name of readdirSync(join(root, group))) {
        const src = join(root, group, name, 'src');
        if (statSync(join(root, group, name)).isDirectory() && existsSync(src)) walk(src);
      }
    }
    expect(offenders).toEqual([]);
  });
});
