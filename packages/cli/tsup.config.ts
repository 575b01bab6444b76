import { cpSync, existsSync } from 'node:fs';
import { defineConfig } from 'tsup';

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
    if (existsSync('../dashboard/dist/index.html'))
      cpSync('../dashboard/dist', 'dist/ui', { recursive: true });
    else console.warn('tsup: ../dashboard/dist is missing: the CLI is built without its dashboard');
  },
});
