// The `/node` entry point's checks: they read files (Deno runs them with --allow-read only).
import { buildManifest } from '@plumbline/core/node';
import { serializeManifest } from '@plumbline/core/manifest';

/** Runs the `/node` checks from the directory that holds `fixture/`. */
export async function runNodeChecks(): Promise<Record<string, string>> {
  const manifest = await buildManifest(['fixture'], {
    roles: { 'specs/**': 'spec', '**': 'config' },
  });
  return { 'node-manifest': serializeManifest(manifest) };
}
