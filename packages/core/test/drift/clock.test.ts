import { describe, expect, it } from 'vitest';
import { ManualClock, systemClock } from '@plumbline/core/drift';

describe('clocks', () => {
  it('ManualClock runs due timers in time order and only moves forward', () => {
    const clock = new ManualClock(1000);
    const fired: string[] = [];
    clock.setTimeout(() => fired.push('b'), 20);
    const a = clock.setTimeout(() => fired.push('a'), 10);
    clock.setTimeout(() => {
      fired.push(`c@${clock.now()}`);
      clock.setTimeout(() => fired.push(`d@${clock.now()}`), 5);
    }, 30);
    clock.clearTimeout(a);
    clock.clearTimeout('not a handle');
    clock.advance(40);
    expect(fired).toEqual(['b', 'c@1030', 'd@1035']);
    expect(clock.now()).toBe(1040);
    clock.set(500);
    expect(clock.now()).toBe(1040);
    clock.setTimeout(() => fired.push('e'), -5);
    clock.set(1040);
    expect(fired.at(-1)).toBe('d@1035');
    clock.set(1041);
    expect(fired.at(-1)).toBe('e');
    expect(clock.pendingTimers).toBe(0);
  });

  it('systemClock fires and cancels real timers without keeping the process alive', async () => {
    const before = systemClock.now();
    expect(before).toBeLessThanOrEqual(Date.now());
    let fired = 0;
    const cancelled = systemClock.setTimeout(() => fired++, 1);
    systemClock.clearTimeout(cancelled);
    await new Promise<void>((resolve) => systemClock.setTimeout(resolve, 2));
    // A huge delay is clamped rather than overflowing into an immediate timer.
    const far = systemClock.setTimeout(() => fired++, 1e12);
    await new Promise<void>((resolve) => systemClock.setTimeout(resolve, 5));
    systemClock.clearTimeout(far);
    expect(fired).toBe(0);
  });
});
