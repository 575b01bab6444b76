import { describe, expect, it } from 'vitest';
import { debugStack, toPlumblineError } from '../../src/errors.js';

describe('toPlumblineError', () => {
  it('never passes a credential from an unexpected error into the printed message', () => {
    const error = toPlumblineError(
      new Error('request to https://ops:s3cr3t-pw@vault.example/v1 failed: Bearer abcdef123456'),
    );
    expect(error.code).toBe('PLB_INTERNAL');
    expect(error.message).not.toContain('s3cr3t-pw');
    expect(error.message).not.toContain('abcdef123456');
    expect(error.message).toContain('vault.example');
    expect(String((error.cause as Error).message)).not.toContain('s3cr3t-pw');
  });
});

describe('debugStack', () => {
  it('redacts the stack --debug prints', () => {
    const stack = debugStack(new Error('connect https://ops:s3cr3t-pw@vault.example failed'));
    expect(stack).toContain('vault.example');
    expect(stack).not.toContain('s3cr3t-pw');
    expect(debugStack('not an error')).toBeUndefined();
  });
});
