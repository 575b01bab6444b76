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
