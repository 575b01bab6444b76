import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { PlumblineError } from '@plumbline/core';
import {
  canonicalizeJsonValue,
  canonicalizeText,
  createSecretRedactor,
  describeDifferences,
  normaliseConfigText,
} from '@plumbline/core/probe';

const enc = new TextEncoder();

function codeOf(run: () => unknown): string | undefined {
  try {
    run();
  } catch (error) {
    if (PlumblineError.is(error)) return error.code;
    throw error;
  }
  return undefined;
}

const NGINX = `# configuration file /etc/nginx/nginx.conf:
worker_processes  2;   # two
events { worker_connections 64; }
http {
    server {
        listen       127.0.0.1:8080;
        location / { return 200 "hello world"; }
        add_header X-Mode 'on';
    }
}
`;

describe('NGINX text normalisation', () => {
  it('writes one statement per line without comments, indentation or needless quotes', () => {
    expect(normaliseConfigText(NGINX, 'nginx')).toBe(
      [
        'worker_processes 2;',
        'events {',
        'worker_connections 64;',
        '}',
        'http {',
        'server {',
        'listen 127.0.0.1:8080;',
        'location / {',
        'return 200 "hello world";',
        '}',
        'add_header X-Mode on;',
        '}',
        '}',
        '',
      ].join('\n'),
    );
  });

  it('keeps # inside a word (nginx starts a comment only at a token start)', () => {
    expect(normaliseConfigText('set $a x#y;', 'nginx')).toBe('set $a x#y;\n');
  });

  it('is unchanged by comments and whitespace added between tokens (property)', () => {
    const word = fc.stringMatching(/^[a-z0-9_./:$-]{1,8}$/);
    const statement = fc.array(word, { minLength: 1, maxLength: 4 });
    const gap = fc.constantFrom(' ', '  ', '\t', '\n', ' # note\n', '\r\n');
    fc.assert(
      fc.property(
        fc.array(statement, { maxLength: 8 }),
        fc.array(gap, { minLength: 1 }),
        (statements, gaps) => {
          const plain = statements.map((s) => `${s.join(' ')};`).join('\n');
          let i = 0;
          const next = () => gaps[i++ % gaps.length]!;
          const noisy = statements
            .map((s) => `${next()}${s.join(next())}${next()};${next()}`)
            .join('');
          expect(normaliseConfigText(noisy, 'nginx')).toBe(normaliseConfigText(plain, 'nginx'));
        },
      ),
    );
  });

  it('refuses unbalanced braces, unterminated quotes and a cut-off statement with a code', () => {
    for (const bad of ['http {', '}', 'a "b;', 'listen 80', ';'])
      expect(
        codeOf(() => normaliseConfigText(bad, 'nginx')),
        bad,
      ).toBe('PLB_PROBE_MALFORMED');
  });

  it('redacts the value after a secret keyword and credentials inside words', () => {
    const redactor = createSecretRedactor();
    const text = normaliseConfigText(
      'proxy_set_header Authorization "Basic c2VjcmV0";\nproxy_pass http://u:pw123@up;\n',
      'nginx',
      redactor,
    );
    expect(text).not.toContain('c2VjcmV0');
    expect(text).not.toContain('pw123');
    expect(text).toMatch(/^proxy_set_header Authorization \[redacted:[0-9a-f]{16}\];$/m);
  });

  it('never throws anything but a coded error on arbitrary text (property)', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 80 }), (text) => {
        for (const dialect of ['nginx', 'haproxy'] as const) {
          try {
            normaliseConfigText(text, dialect);
          } catch (error) {
            expect(PlumblineError.is(error)).toBe(true);
          }
        }
      }),
    );
  });
});

describe('HAProxy text normalisation', () => {
  it('writes one directive per line, drops comments and blank lines, redacts passwords', () => {
    const redactor = createSecretRedactor();
    const text = normaliseConfigText(
      'global\n    maxconn  100   # limit\n\nuserlist admins\n  user bob insecure-password s3cret\n  user amy password $6$abc\nlisten stats\n  stats auth admin:adm1n\n',
      'haproxy',
      redactor,
    );
    expect(text.split('\n').slice(0, 3)).toEqual(['global', 'maxconn 100', 'userlist admins']);
    expect(text).not.toMatch(/s3cret|\$6\$abc|adm1n/);
    expect(text).toMatch(/^stats auth \[redacted:[0-9a-f]{16}\]$/m);
  });

  it('is unchanged by indentation, trailing comments and blank lines', () => {
    const a = canonicalizeText(enc.encode('defaults\n  timeout client 5s\n'), 'haproxy');
    const b = canonicalizeText(
      enc.encode('\n# c\ndefaults  # d\n\ttimeout   client 5s\n\n'),
      'haproxy',
    );
    expect(b.digest).toBe(a.digest);
  });
});

describe('describeDifferences', () => {
  it('names the JSON pointers that differ, never the values', () => {
    const a = canonicalizeJsonValue({
      apps: { http: { servers: { s: { listen: [':80'] } } } },
      x: 1,
      'a/b': 1,
    });
    const b = canonicalizeJsonValue({
      apps: { http: { servers: { s: { listen: [':81', ':82'] } } } },
      x: 1,
      'a/b': 2,
    });
    expect(describeDifferences(a, b)).toEqual([
      '/a~1b',
      '/apps/http/servers/s/listen/0',
      '/apps/http/servers/s/listen/1',
    ]);
    expect(describeDifferences(a, a)).toEqual([]);
    expect(describeDifferences(a, b, 1)).toHaveLength(1);
  });

  it('names the normalised lines that differ by directive name only', () => {
    const a = canonicalizeText(enc.encode('http { server { listen 8080; root /a; } }'), 'nginx');
    const b = canonicalizeText(enc.encode('http { server { listen 8081; root /a; } }'), 'nginx');
    expect(describeDifferences(a, b)).toEqual(['-3: listen', '+3: listen']);
  });
});
