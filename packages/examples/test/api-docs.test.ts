import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const repo = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const out = mkdtempSync(join(tmpdir(), 'plumbline-api-docs-'));
afterAll(() => rmSync(out, { recursive: true, force: true }));

interface Reflection {
  name: string;
  kind: number;
  comment?: { summary: { text: string }[] };
  readme?: { text: string }[];
  children?: Reflection[];
}
/** TypeDoc's ReflectionKind.Module. */
const MODULE = 2;

describe('npm run docs (TypeDoc)', () => {
  it('builds without a warning, every module described, every guide a page', () => {
    const typedoc = join(
      dirname(createRequire(join(repo, 'package.json')).resolve('typedoc/package.json')),
      'bin',
      'typedoc',
    );
    // typedoc.json treats warnings as errors: an unresolved {@link} or {@inheritDoc} fails here.
    const run = spawnSync(
      process.execPath,
      [typedoc, '--out', join(out, 'html'), '--json', join(out, 'api.json')],
      { cwd: repo, encoding: 'utf8' },
    );
    expect(run.stdout + run.stderr).not.toMatch(/\[warning\]|\[error\]/);
    expect(run.status, run.stdout + run.stderr).toBe(0);

    const project = JSON.parse(readFileSync(join(out, 'api.json'), 'utf8')) as Reflection & {
      documents?: { name: string }[];
    };
    const modules: Reflection[] = [];
    const walk = (node: Reflection): void => {
      for (const child of node.children ?? []) {
        if (child.kind !== MODULE) continue;
        modules.push(child);
        walk(child);
      }
    };
    walk(project);
    expect(modules.map((m) => m.name)).toEqual(
      expect.arrayContaining(['@plumbline/core', 'probe', 'probe/node', '@plumbline/ws']),
    );
    for (const module of modules) {
      const text = [...(module.comment?.summary ?? []), ...(module.readme ?? [])]
        .map((part) => part.text)
        .join('')
        .trim();
      expect(text.length, `the module page of ${module.name} has a description`).toBeGreaterThan(
        20,
      );
    }
    const guides = readdirSync(join(repo, 'docs', 'guides'))
      .filter((f) => f.endsWith('.md'))
      .map((f) => f.slice(0, -3));
    expect(guides.length).toBeGreaterThan(5);
    expect((project.documents ?? []).map((d) => d.name).sort()).toEqual(guides.sort());
  }, 240_000);
});
