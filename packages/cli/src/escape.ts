// C0 controls, DEL, C1 controls and the bidirectional overrides/isolates (which reorder what a
// terminal shows): none reaches the terminal raw.
// eslint-disable-next-line no-control-regex -- the rule is about control characters
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/g;
const NAMED: Record<string, string> = { '\t': '\\t', '\n': '\\n', '\r': '\\r' };

function escapeOne(c: string): string {
  const named = NAMED[c];
  if (named !== undefined) return named;
  const code = c.charCodeAt(0);
  return code < 0x80
    ? `\\x${code.toString(16).padStart(2, '0')}`
    : `\\u${code.toString(16).padStart(4, '0')}`;
}

/**
 * `text` with every control character written as an escape (`\x1b`, `\r`, `\u202e`…), so text
 * from an artifact, a log or a peer cannot forge lines, drive the terminal or reorder what it
 * shows. Every line the CLI prints goes through it.
 *
 * @example
 * ```ts
 * escapeControl('a\u001b[2Jb'); // 'a\\x1b[2Jb'
 * ```
 * @internal
 */
export function escapeControl(text: string): string {
  UNSAFE.lastIndex = 0;
  return UNSAFE.test(text) ? text.replace(UNSAFE, escapeOne) : text;
}
