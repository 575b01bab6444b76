import { describe, expect, it } from 'vitest';
import { runCli } from './helpers.js';

describe('plumbline', () => {
  it('prints its version', async () => {
    const result = await runCli(['--version']);
    expect(result.code).toBe(0);
    expect(result.stdout.trim()).toMatch(/^\d+\.\d+\.\d+$/);
  });
  it('answers an unknown command with a usage error and exit code 2', async () => {
    const result = await runCli(['no-such-command']);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/^plumbline: PLB_USAGE: /);
  });
});

describe('plumbline as a process', () => {
  it('stops quietly with its exit code when the reader closes the pipe early', async () => {
    const { spawnCli } = await import('./helpers.js');
    const fixtures = new URL('../../examples/fixtures/gateway-config/', import.meta.url).pathname;
    const child = spawnCli(['manifest', fixtures, '--json']);
    // The reader goes away before the CLI has written anything (like `plumbline … | head -c0`).
    child.stdout!.destroy();
    let stderr = '';
    child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
    expect(stderr).toBe('');
    expect(code).toBe(0);
  });
});
