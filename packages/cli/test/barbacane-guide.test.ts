import { copyFile, mkdir, mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { samplePath } from '@plumbline/testkit/barbacane';
import { runCli } from './helpers.js';

const GUIDE = fileURLToPath(new URL('../../../docs/guides/barbacane.md', import.meta.url));

// Every output block the Barbacane guide shows is what these commands print on the committed
// sample, byte for byte (absolute paths written as /path/to/clone).
describe('the Barbacane guide', () => {
  it('shows the real output of its commands on the committed version 4 sample', async () => {
    const guide = await readFile(GUIDE, 'utf8');
    const clone = await mkdtemp(join(tmpdir(), 'plb-guide-'));
    await mkdir(join(clone, 'dist'));
    await copyFile(fileURLToPath(samplePath(4)), join(clone, 'dist/gateway.bca'));
    const cli = async (args: string[], code: number): Promise<string> => {
      const result = await runCli(args, { cwd: clone, env: {} });
      expect(result.code).toBe(code);
      return result.stdout.replaceAll(clone, '/path/to/clone');
    };
    const block = (text: string) => expect(guide).toContain(`\`\`\`\n${text}\`\`\`\n`);

    block(await cli(['barbacane', 'check', 'dist/gateway.bca'], 3));
    const sidecar = await cli(
      [
        'barbacane',
        'seal',
        'dist/gateway.bca',
        '--source',
        'acme/gateway',
        '--commit',
        '8f3c2a1b9d4e5f60718293a4b5c6d7e8f9012345',
      ],
      0,
    );
    const embed = await cli(
      [
        'barbacane',
        'seal',
        'dist/gateway.bca',
        '--embed',
        '--out',
        'dist/gateway.sealed.bca',
        '--source',
        'acme/gateway',
      ],
      0,
    );
    block(sidecar + embed);
    const check = await cli(['barbacane', 'check', 'dist/gateway.sealed.bca'], 0);
    const verify = await cli(['verify', 'dist/gateway.sealed.bca'], 0);
    block(check + verify);
  });
});
