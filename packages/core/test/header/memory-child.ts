// Reads one artifact's header the way `plumbline verify` starts (readHeader from a file) and
// prints, as JSON, the resident set right before reading (after imports and a collection) and the
// peak resident set while reading: Linux's peak counter (VmHWM) is reset first (clear_refs 5), so
// what the imports took before does not count.
import { readFileSync, writeFileSync } from 'node:fs';
import { readHeader } from '@plumbline/core/node';
import { PlumblineError } from '@plumbline/core';

const path = process.argv[2]!;
const gc = (globalThis as { gc?: () => void }).gc;
const peakRss = (): number =>
  Number(/VmHWM:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'))![1]) * 1024;
gc?.();
const before = process.memoryUsage().rss;
writeFileSync('/proc/self/clear_refs', '5');
const peakBefore = peakRss();
let code = 'ok';
try {
  await readHeader(path);
} catch (error) {
  code = PlumblineError.is(error) ? error.code : `uncoded: ${String(error)}`;
}
const peak = peakRss();
process.stdout.write(`${JSON.stringify({ code, before, peakBefore, peak })}\n`);
