import { readFileSync, readdirSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

// docs/errors.md promises "every error the SDK reports is a PlumblineError with a stable code". The
// table is the contract: every code it lists is produced by some code path, and every code the code
// produces is listed. Codes are read from string literals in the sources (comments do not count).
const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const CODE = /^PLB_[A-Z0-9]+(?:_[A-Z0-9]+)*$/;

/** Codes that only test fixtures or the conformance kits use, never a product code path. */
const FIXTURE_CODES = new Set(['PLB_X', 'PLB_PROBE_X', 'PLB_CONFORMANCE']);

function sources(dir: string, out: string[] = []): string[] {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (['node_modules', 'dist', 'test', 'temp', 'coverage', 'fixtures'].includes(entry.name))
      continue;
    const path = join(dir, entry.name);
    if (entry.isDirectory()) sources(path, out);
    else if (/\.(?:ts|tsx|mts)$/.test(entry.name) && !entry.name.endsWith('.d.ts')) out.push(path);
  }
  return out;
}

/** Every `PLB_…` string literal in a source file, with the file it is in. */
function codesIn(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  const source = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true);
  const found: string[] = [];
  const visit = (node: ts.Node): void => {
    if (ts.isStringLiteralLike(node) && CODE.test(node.text)) found.push(node.text);
    // A property name (`{ PLB_X: … }`) is a code too: lookup tables are keyed by code.
    if (ts.isIdentifier(node) && CODE.test(node.text) && ts.isPropertyAssignment(node.parent)) {
      found.push(node.text);
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return found;
}

interface DocumentedCode {
  readonly code: string;
  readonly where: string;
  readonly meaning: string;
}

function documented(): DocumentedCode[] {
  const rows: DocumentedCode[] = [];
  for (const line of readFileSync(join(root, 'docs', 'errors.md'), 'utf8').split('\n')) {
    const match = /^\|\s*`(PLB_[A-Z0-9_]+)`\s*\|\s*([^|]*?)\s*\|\s*(.*?)\s*\|\s*$/.exec(line);
    if (match !== null) rows.push({ code: match[1]!, where: match[2]!, meaning: match[3]! });
  }
  return rows;
}

/** code → package-relative files whose sources name it */
function producedCodes(): Map<string, string[]> {
  const files = [
    ...sources(join(root, 'packages')).filter((f) => /\/src\//.test(f)),
    ...sources(join(root, 'packages', 'examples')).filter((f) => !/\/src\//.test(f)),
  ];
  const where = new Map<string, string[]>();
  for (const file of files) {
    for (const code of codesIn(file)) {
      const list = where.get(code) ?? [];
      list.push(relative(root, file));
      where.set(code, list);
    }
  }
  return where;
}

describe('docs/errors.md', () => {
  const rows = documented();
  const produced = producedCodes();

  it('lists each code once, in a table this test can read', () => {
    expect(rows.length).toBeGreaterThan(200);
    const seen = new Set<string>();
    const twice = rows.filter((r) => (seen.has(r.code) ? true : (seen.add(r.code), false)));
    expect(twice.map((r) => r.code)).toEqual([]);
    for (const row of rows) expect(row.meaning.length, row.code).toBeGreaterThan(10);
  });

  it('every documented code is produced by some source', () => {
    const missing = rows.map((r) => r.code).filter((code) => !produced.has(code));
    expect(missing).toEqual([]);
  });

  it('every code a source produces is documented', () => {
    const listed = new Set(rows.map((r) => r.code));
    const undocumented = [...produced.keys()]
      .filter((code) => !listed.has(code) && !FIXTURE_CODES.has(code))
      .map((code) => `${code} (${produced.get(code)!.join(', ')})`);
    expect(undocumented).toEqual([]);
  });

  it('the fixture-only codes are used only by the testing kits', () => {
    for (const code of FIXTURE_CODES) {
      for (const file of produced.get(code) ?? [])
        expect(file).toMatch(/packages\/core\/src\/testing\//);
    }
  });

  it('the "where" column names the package that produces the code', () => {
    const wrong: string[] = [];
    for (const row of rows) {
      const files = produced.get(row.code) ?? [];
      const pkg = row.where.split('/')[0]!.trim();
      const dir: Record<string, string> = {
        cli: 'packages/cli/',
        'control plane': 'packages/cli/',
        core: 'packages/core/',
        examples: 'packages/examples/',
        dashboard: 'packages/dashboard/',
      };
      const prefix = dir[pkg] ?? `packages/adapters/${pkg}/`;
      if (!files.some((f) => f.startsWith(prefix)))
        wrong.push(`${row.code}: ${row.where} vs ${files.join(', ')}`);
    }
    expect(wrong).toEqual([]);
  });
});
