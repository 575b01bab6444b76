import { PlumblineError } from '../errors.js';
import type { SecretRedactor } from './redact.js';

/**
 * The configuration text dialects {@link normaliseConfigText} knows.
 *
 * @public
 */
export type ConfigTextDialect = 'nginx' | 'haproxy';

function malformed(message: string): PlumblineError {
  return new PlumblineError('PLB_PROBE_MALFORMED', message);
}

const SPACE = /[ \t\r\n\f\v]/;

/** Reads one quoted token starting at `start` (a quote); returns the token and where it ends. */
function readQuoted(text: string, start: number): [string, number] {
  const quote = text[start]!;
  let i = start + 1;
  while (i < text.length && text[i] !== quote) i += text[i] === '\\' ? 2 : 1;
  if (i >= text.length) throw malformed(`an unterminated ${quote} string in the configuration`);
  return [text.slice(start, i + 1), i + 1];
}

/** A quoted token that needs no quotes is written bare, so `"on"` and `on` are one form. */
function bare(token: string, special: RegExp): string {
  const q = token[0];
  if (q !== '"' && q !== "'") return token;
  const inner = token.slice(1, -1);
  if (inner.length === 0 || special.test(inner) || inner.includes('\\')) return token;
  return inner;
}

function redactTokens(tokens: string[], redactor: SecretRedactor | undefined): string[] {
  if (redactor === undefined) return tokens;
  for (let i = 0; i < tokens.length; i++) {
    const previous = i > 0 ? tokens[i - 1]! : '';
    tokens[i] =
      i > 0 && redactor.isSecretName(previous.replace(/^["']|["']$/g, ''))
        ? redactor.marker(tokens[i]!)
        : redactor.scrub(tokens[i]!);
  }
  return tokens;
}

const NGINX_SPECIAL = /[\s;{}#"'$]/;

/** NGINX: statements end at `;`, blocks open at `{` and close at `}`; `#` at a token start comments to the end of the line. */
function normaliseNginx(text: string, redactor: SecretRedactor | undefined): string[] {
  const lines: string[] = [];
  let tokens: string[] = [];
  let depth = 0;
  let i = 0;
  const flush = (end: string): void => {
    const words = redactTokens(tokens, redactor).map((t) => bare(t, NGINX_SPECIAL));
    lines.push(end === '}' ? '}' : `${words.join(' ')}${end === '{' ? ' {' : ';'}`);
    tokens = [];
  };
  while (i < text.length) {
    const c = text[i]!;
    if (SPACE.test(c)) i++;
    else if (c === '#') {
      while (i < text.length && text[i] !== '\n') i++;
    } else if (c === ';' || c === '{') {
      if (tokens.length === 0) throw malformed(`a "${c}" without a directive in the configuration`);
      flush(c);
      if (c === '{') depth++;
      i++;
    } else if (c === '}') {
      if (tokens.length > 0 || depth === 0)
        throw malformed('an unexpected "}" in the configuration');
      depth--;
      flush('}');
      i++;
    } else if (c === '"' || c === "'") {
      const [token, end] = readQuoted(text, i);
      tokens.push(token);
      i = end;
    } else {
      let end = i;
      while (end < text.length && !SPACE.test(text[end]!) && !';{}'.includes(text[end]!)) {
        end += text[end] === '\\' ? 2 : 1;
      }
      tokens.push(text.slice(i, end));
      i = end;
    }
  }
  if (tokens.length > 0 || depth !== 0)
    throw malformed('the configuration ends inside a statement or block');
  return lines;
}

const HAPROXY_SPECIAL = /[\s#"'\\]/;

/** HAProxy: one statement per line; `#` outside quotes comments to the end of the line. */
function normaliseHaproxy(text: string, redactor: SecretRedactor | undefined): string[] {
  const lines: string[] = [];
  for (const raw of text.split('\n')) {
    const tokens: string[] = [];
    let i = 0;
    while (i < raw.length) {
      const c = raw[i]!;
      if (SPACE.test(c)) i++;
      else if (c === '#') break;
      else if (c === '"' || c === "'") {
        const [token, end] = readQuoted(raw, i);
        tokens.push(token);
        i = end;
      } else {
        let end = i;
        while (end < raw.length && !SPACE.test(raw[end]!) && raw[end] !== '#') {
          end += raw[end] === '\\' ? 2 : 1;
        }
        tokens.push(raw.slice(i, end));
        i = end;
      }
    }
    if (tokens.length > 0) {
      lines.push(
        redactTokens(tokens, redactor)
          .map((t) => bare(t, HAPROXY_SPECIAL))
          .join(' '),
      );
    }
  }
  return lines;
}

/**
 * Normalises gateway configuration text so that formatting is not configuration: comments are
 * removed, runs of whitespace become one space, indentation and blank lines go, and quotes that
 * change nothing are dropped. NGINX text becomes one statement per line (`name args;`,
 * `name args {`, `}`); HAProxy text one directive per line. The file markers `nginx -T` prints
 * (`# configuration file …:`) are comments, so a dump and the files it concatenates normalise
 * alike. With a redactor, the word after a secret keyword (`password`, `insecure-password`,
 * `auth`, `Authorization`, …) and secrets inside words are replaced by markers.
 *
 * @example
 * ```ts
 * normaliseConfigText('http {\n  # comment\n  server { listen 8080; }\n}\n', 'nginx');
 * // 'http {\nserver {\nlisten 8080;\n}\n}\n'
 * ```
 * @throws {@link PlumblineError} `PLB_PROBE_MALFORMED` for an unterminated quote, unbalanced
 *   braces or a statement cut off at the end.
 * @public
 */
export function normaliseConfigText(
  text: string,
  dialect: ConfigTextDialect,
  redactor?: SecretRedactor,
): string {
  const lines =
    dialect === 'nginx' ? normaliseNginx(text, redactor) : normaliseHaproxy(text, redactor);
  return lines.length === 0 ? '' : `${lines.join('\n')}\n`;
}
