import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from '../helpers/startBalancer.ts';

// tsconfig.core.json type-checks src/core without Node types; this catches what a type check
// cannot: globals that every runtime's lib declares (`caches`, `navigator`) or that slip in through
// `any`, and imports of packages that are not runtime-neutral.

const CORE = join(PROJECT_ROOT, 'src/core');

/** Runtime APIs the core must never touch, each with what to do instead. */
const FORBIDDEN: readonly [RegExp, string][] = [
  [/['"]node:/, 'a node: import; take the capability as an argument from the entry point'],
  [/\bDeno\./, 'the Deno namespace; src/deno.ts is the place'],
  [/\bBun\./, 'the Bun namespace'],
  [/\bprocess\s*[.[]/, 'process (env, exit, hrtime); pass the value in'],
  [/\bBuffer\b/, 'Buffer; use Uint8Array and TextEncoder'],
  [/\brequire\s*\(/, 'require(); use import'],
  [/\b__dirname\b|\b__filename\b|import\.meta\.(dirname|filename)/, 'a file system location'],
  [/\bsetImmediate\b/, 'setImmediate (Node only)'],
  [/\bcaches\s*\./, 'the Workers Cache API'],
  [/\bnavigator\s*\./, 'navigator, which differs per runtime'],
  [/\bWebSocketPair\b|\bHTMLRewriter\b|['"]cloudflare:/, 'a Workers-only API'],
  [/\bglobalThis\s*\.\s*(?!fetch\b|setTimeout\b|clearTimeout\b|crypto\b)\w+/, 'a runtime global through globalThis'],
];

/**
 * Packages the core may import: they use Web-standard APIs only and run on every runtime. scslre
 * (and refa, regexpp under it) is plain JavaScript: the config's ReDoS check. bcryptjs and
 * @noble/hashes are plain JavaScript too: basic_auth's password hashes.
 */
const ALLOWED_PACKAGES = [/^valibot$/, /^yaml$/, /^hono(\/.*)?$/, /^scslre$/, /^@eslint-community\/regexpp$/, /^regexp-ast-analysis$/, /^bcryptjs$/, /^@noble\/hashes\/[a-z0-9]+\.js$/];

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return /\.(ts|js|mjs)$/.test(entry.name) ? [path] : [];
  });
}

/** Source text without comments, so prose about runtimes does not count. String contents stay. */
function withoutComments(text: string): string {
  return text.replace(/\/\*[\s\S]*?\*\//g, '').replace(/(^|[^:'"`\\])\/\/.*$/gm, '$1');
}

describe('src/core stays runtime-free', () => {
  const files = sourceFiles(CORE);

  it('has files to check', () => {
    expect(files.length).toBeGreaterThan(10);
  });

  it('uses no runtime API', () => {
    const found: string[] = [];
    for (const file of files) {
      const lines = withoutComments(readFileSync(file, 'utf8')).split('\n');
      lines.forEach((line, i) => {
        for (const [pattern, why] of FORBIDDEN) {
          if (pattern.test(line)) found.push(`${relative(PROJECT_ROOT, file)}:${i + 1}: ${why}: ${line.trim()}`);
        }
      });
    }
    expect(found).toEqual([]);
  });

  it('imports only relative files and runtime-neutral packages', () => {
    const found: string[] = [];
    for (const file of files) {
      const text = withoutComments(readFileSync(file, 'utf8'));
      for (const match of text.matchAll(/\b(?:import|export)\b[^'"]*?\bfrom\s*['"]([^'"]+)['"]|\bimport\s*\(\s*['"]([^'"]+)['"]|^\s*import\s*['"]([^'"]+)['"]/gm)) {
        const specifier = match[1] ?? match[2] ?? match[3];
        if (specifier.startsWith('./') || specifier.startsWith('../')) {
          if (!join(file, '..', specifier).startsWith(CORE)) found.push(`${relative(PROJECT_ROOT, file)}: imports ${specifier}, outside src/core`);
          continue;
        }
        if (!ALLOWED_PACKAGES.some((allowed) => allowed.test(specifier))) found.push(`${relative(PROJECT_ROOT, file)}: imports ${specifier}`);
      }
    }
    expect(found).toEqual([]);
  });
});
