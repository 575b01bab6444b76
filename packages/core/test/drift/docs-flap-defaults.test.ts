import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { A, B } from './helpers.js';
import { harness } from './monitor-harness.js';

// docs/protocol.md "Flap damping": "halves every `halfLifeMs` (default 60 s). At `threshold`
// (default 5) the node is reported once as `node.flapping` and its alert events are held back".
const doc = readFileSync(new URL('../../../../docs/protocol.md', import.meta.url), 'utf8').replace(
  /\s+/g,
  ' ',
);
const threshold = Number(/At `threshold` \(default (\d+)\)/.exec(doc)![1]);
const halfLifeS = Number(/halves every `halfLifeMs` \(default (\d+) s\)/.exec(doc)![1]);

describe('docs/protocol.md: flap damping defaults', () => {
  it(`alerts threshold - 1 transitions, then reports node.flapping once (threshold ${threshold})`, async () => {
    const h = await harness({ flapDamping: {} }); // the monitor's default threshold and half-life
    await h.monitor.setDesired({ cluster: 'prod', artifact_hash: A, actor: 'a', reason: 'r' });
    h.hello('n1', A);
    for (let i = 0; i < 2 * threshold; i++) {
      h.clock.advance(100);
      h.beat('n1', i % 2 === 0 ? B : A);
    }
    expect(h.of('node.flapping')).toHaveLength(1);
    expect(h.of('drift.detected').length + h.of('drift.resolved').length).toBe(threshold - 1);
    await h.monitor.close();
  });

  it(`the score halves every ${halfLifeS} s: spaced-out transitions never flap`, async () => {
    const h = await harness({ flapDamping: {} });
    await h.monitor.setDesired({ cluster: 'prod', artifact_hash: A, actor: 'a', reason: 'r' });
    h.hello('n1', A);
    // One transition per half-life keeps the score below 2: never near the threshold.
    for (let i = 0; i < 4 * threshold; i++) {
      for (let s = 0; s < halfLifeS; s++) {
        h.clock.advance(1000);
        h.beat('n1', i % 2 === 0 ? A : B);
      }
      h.beat('n1', i % 2 === 0 ? B : A);
    }
    expect(h.of('node.flapping')).toHaveLength(0);
    await h.monitor.close();
  });
});
