import { cpSync, existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { defineConfig } from 'tsup';

// The dashboard page is a declared (build-time) dependency: its built files are found through it.
const dashboard = join(
  dirname(createRequire(import.meta.url).resolve('@plumbline/dashboard/package.json')),
  'dist',
);

export default defineConfig({
  entry: { index: 'src/index.ts', bin: 'src/bin.ts' },
  format: ['esm'],
  target: 'node20',
  platform: 'node',
  dts: { entry: { index: 'src/index.ts' } },
  sourcemap: true,
  clean: true,
  splitting: true,
  external: [/^@plumbline\//],
  // The dashboard page (built first by the @plumbline/dashboard workspace) ships as dist/ui/.
  onSuccess: async () => {
    if (existsSync(join(dashboard, 'index.html')))
      cpSync(dashboard, 'dist/ui', { recursive: true });
    else console.warn(`tsup: ${dashboard} is missing: the CLI is built without its dashboard`);
  },
});
