import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import {
  buildManifest,
  PlumblineError,
  serializeBuiltManifest,
} from '@plumbline/core/internal/cli-manifest';
import { manifestFromEntries, serializeManifest } from '@plumbline/core/manifest';

const src = resolve(dirname(fileURLToPath(import.meta.url)), '../../src');

/** Every bare package a source module imports, following its relative imports (types excluded). */
function packagesImportedBy(entry: string): Set<string> {
  const seen = new Set<string>();
  const packages = new Set<string>();
  const visit = (file: string): void => {
    if (seen.has(file)) return;
    seen.add(file);
    const text = readFileSync(file, 'utf8');
    for (const m of text.matchAll(/^(?:import|export)\s+(?!type\s)[^;]*?from\s+'([^']+)'/gms)) {
      const spec = m[1]!;
      if (spec.startsWith('.')) visit(resolve(dirname(file), spec.replace(/\.js$/, '.ts')));
      else packages.add(spec);
    }
  };
  visit(join(src, entry));
  return packages;
}

describe('the CLI manifest entry', () => {
  it('imports no schema or CBOR library (nothing a manifest does not need at start-up)', () => {
    const packages = [...packagesImportedBy('internal/cli-manifest.ts')];
    expect(packages.filter((p) => /^(zod|cbor)/.test(p))).toEqual([]);
    // picomatch is loaded only when globs are given (node/globs.ts), not at start-up.
    expect(packages.filter((p) => !p.startsWith('node:')).sort()).toEqual([
      '@noble/hashes/sha2.js',
    ]);
  });

  it('imports no schema library and none of the Node-side modules sealing does not use', () => {
    const packages = [...packagesImportedBy('internal/cli-seal.ts')];
    expect(packages.filter((p) => !p.startsWith('node:')).sort()).toEqual([
      '@noble/hashes/sha2.js',
    ]);
    expect(packagesImportedBy('internal/cli-seal.ts').has('node:http')).toBe(false);
  });

  const root = mkdtempSync(join(tmpdir(), 'plb-cli-entry-'));
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it('serializes a built manifest byte for byte as serializeManifest does', async () => {
    mkdirSync(join(root, 'a/b'), { recursive: true });
    writeFileSync(join(root, 'a/b/gateway.yaml'), 'routes: []\n');
    writeFileSync(join(root, 'a/plugin.wasm'), new Uint8Array([0, 97, 115, 109]));
    const manifest = await buildManifest([join(root, 'a')], {
      cwd: root,
      roles: [['**/*.wasm', 'plugin']],
    });
    expect(serializeBuiltManifest(manifest)).toBe(serializeManifest(manifest));
    expect(serializeBuiltManifest(manifest, { indent: 0 })).toBe(
      serializeManifest(manifest, { indent: 0 }),
    );
    const fromEntries = manifestFromEntries(manifest.entries);
    expect(serializeBuiltManifest(fromEntries)).toBe(serializeManifest(fromEntries));
  });

  it('refuses a manifest this process did not check', () => {
    const copy = JSON.parse(serializeManifest(manifestFromEntries([])));
    expect(() => serializeBuiltManifest(copy)).toThrow(PlumblineError);
    expect(() => serializeBuiltManifest(copy)).toThrow(
      expect.objectContaining({ code: 'PLB_MANIFEST_INVALID' }),
    );
  });
});
