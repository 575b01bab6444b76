import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

// A link in a README or guide is a promise that the page is there: every relative link resolves
// to a file or folder of the repository, every `#anchor` to a heading of its page, and every
// `npm run <script>` the docs tell a reader to type names a script of the package it runs in.
const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

function documents(dir: string, out: string[] = []): string[] {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (['node_modules', 'dist', '.git', 'api', 'temp', 'coverage'].includes(entry.name)) continue;
    const path = join(dir, entry.name);
    if (entry.isDirectory()) documents(path, out);
    else if (entry.name.endsWith('.md')) out.push(path);
  }
  return out;
}

const files = [
  join(root, 'README.md'),
  join(root, 'DEVELOPING.md'),
  ...documents(join(root, 'docs')),
  ...documents(join(root, 'packages')),
];

/** GitHub's heading anchors: lower case, punctuation dropped, spaces to hyphens. */
function anchorsOf(markdown: string): Set<string> {
  const anchors = new Set<string>();
  const seen = new Map<string, number>();
  const text = markdown.replace(/^```[\s\S]*?^```/gm, '');
  for (const match of text.matchAll(/^#{1,6}\s+(.+?)\s*#*\s*$/gm)) {
    const base = match[1]!
      .replace(/`/g, '')
      .replace(/\[([^\]]*)\]\([^)]*\)/g, '$1')
      .toLowerCase()
      .replace(/[^\p{L}\p{N}\s_-]/gu, '')
      .replace(/\s/g, '-');
    const n = seen.get(base) ?? 0;
    seen.set(base, n + 1);
    anchors.add(n === 0 ? base : `${base}-${n}`);
  }
  for (const match of text.matchAll(/<a\s+(?:name|id)="([^"]+)"/g)) anchors.add(match[1]!);
  return anchors;
}

/** Inline links `[text](target)` outside code blocks and code spans. */
function linksOf(markdown: string): string[] {
  const text = markdown.replace(/^```[\s\S]*?^```/gm, '').replace(/`[^`\n]*`/g, '');
  return [...text.matchAll(/\]\(([^)\s]+)(?:\s+"[^"]*")?\)/g)].map((m) => m[1]!);
}

describe('links in the docs', () => {
  it('every relative link resolves, and every anchor names a heading', () => {
    expect(files.length).toBeGreaterThan(20);
    const broken: string[] = [];
    let checked = 0;
    for (const file of files) {
      const markdown = readFileSync(file, 'utf8');
      for (const link of linksOf(markdown)) {
        if (/^[a-z][a-z0-9+.-]*:/i.test(link)) continue; // https:, mailto:, …
        checked += 1;
        const [path, anchor] = link.split('#') as [string, string | undefined];
        const target = path === '' ? file : resolve(dirname(file), decodeURIComponent(path));
        const where = `${relative(root, file)}: ${link}`;
        if (!existsSync(target)) {
          broken.push(`${where} (no such file)`);
          continue;
        }
        if (
          anchor !== undefined &&
          anchor !== '' &&
          target.endsWith('.md') &&
          statSync(target).isFile()
        ) {
          if (!anchorsOf(readFileSync(target, 'utf8')).has(anchor))
            broken.push(`${where} (no such heading)`);
        }
      }
    }
    expect(checked).toBeGreaterThan(50);
    expect(broken).toEqual([]);
  });

  it('every `npm run <script>` names a script of the root or the named workspace', () => {
    const scriptsOf = (pkgDir: string): Record<string, string> =>
      (
        JSON.parse(readFileSync(join(pkgDir, 'package.json'), 'utf8')) as {
          scripts?: Record<string, string>;
        }
      ).scripts ?? {};
    const workspaces = new Map<string, string>();
    for (const dir of ['packages', 'packages/adapters']) {
      for (const entry of readdirSync(join(root, dir), { withFileTypes: true })) {
        const pkgFile = join(root, dir, entry.name, 'package.json');
        if (!entry.isDirectory() || !existsSync(pkgFile)) continue;
        const name = (JSON.parse(readFileSync(pkgFile, 'utf8')) as { name: string }).name;
        workspaces.set(name, join(root, dir, entry.name));
      }
    }
    const unknown: string[] = [];
    let checked = 0;
    for (const file of files) {
      // An inline code span may wrap onto the next line.
      for (const match of readFileSync(file, 'utf8').matchAll(
        /\bnpm run ([a-z][\w:.-]*)([^\n`]*(?:\n[^\n`]*(?=`))?)/g,
      )) {
        const workspace = /(?:-w|--workspace)[=\s]+(@plumbline\/[\w-]+)/.exec(match[2]!)?.[1];
        const dir = workspace === undefined ? root : workspaces.get(workspace);
        checked += 1;
        if (dir === undefined || !(match[1]! in scriptsOf(dir))) {
          unknown.push(
            `${relative(root, file)}: npm run ${match[1]}${workspace ? ` -w ${workspace}` : ''}`,
          );
        }
      }
    }
    expect(checked).toBeGreaterThan(10);
    expect(unknown).toEqual([]);
  });
});
