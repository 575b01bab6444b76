const encoder = new TextEncoder();

// Up to this many bytes the batch is encoded into one buffer sized for the worst case (three
// UTF-8 bytes per UTF-16 unit); above it each line is encoded on its own and copied once.
const WORST_CASE_LIMIT = 16 * 1024 * 1024;

/**
 * UTF-8 bytes of `lines`, each followed by `\n`. Encodes line by line into one buffer: joining
 * thousands of strings first and encoding the joined text is several times slower (the engine
 * flattens the joined rope before encoding it).
 *
 * @internal
 */
export function encodeLines(
  lines: Iterable<string>,
  worstCaseLimit: number = WORST_CASE_LIMIT,
): Uint8Array {
  const list = Array.isArray(lines) ? (lines as readonly string[]) : [...lines];
  let units = 0;
  for (const line of list) units += line.length + 1;
  if (units * 3 <= worstCaseLimit) {
    const out = new Uint8Array(units * 3);
    let at = 0;
    for (const line of list) {
      at += encoder.encodeInto(line, out.subarray(at)).written;
      out[at++] = 0x0a;
    }
    return out.subarray(0, at);
  }
  const parts = list.map((line) => encoder.encode(line));
  let size = parts.length;
  for (const part of parts) size += part.length;
  const out = new Uint8Array(size);
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
    out[at++] = 0x0a;
  }
  return out;
}
