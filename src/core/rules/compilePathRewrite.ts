import { compileRegex } from '../compile/compileRegex.ts';
import { ConfigProblem } from '../compile/ConfigProblem.ts';
import type { ConfigProblems } from '../compile/ConfigProblems.ts';
import { normalizePath } from '../path/normalizePath.ts';
import { normalizeConfigPath } from '../path/normalizeConfigPath.ts';

/** `rewrite_rules`, as the config schema reads them. */
export interface RewriteRules {
  readonly strip_prefix?: string;
  readonly replace?: Readonly<Record<string, string>>;
  readonly regex?: readonly { readonly pattern: string; readonly replacement: string }[];
}

/** Rewrites a normalised path into the normalised path the backend is sent. */
export type PathRewrite = (path: string) => string;

/** Thrown per request when a regex rewrite yields a path that is not safe to send; the app answers 500. */
export class PathRewriteError extends Error {
  override name = 'PathRewriteError';
}

/**
 * Compiles `rewrite_rules`, applied in this order:
 * 1. `strip_prefix: /api`: removes a leading prefix on a segment boundary (`/api/x` becomes `/x`,
 *    `/api` becomes `/`, `/apix` is left alone);
 * 2. `replace: { v1: v2 }`: replaces whole segments, not substrings: every run of segments equal
 *    to the key becomes the value's segments (`/v1/x` and `/api/v1` become `/v2/x` and `/api/v2`;
 *    `/v10` is left alone). Keys and values may span segments (`a/b: c`); an empty value removes them;
 *    entries apply in the order written;
 * 3. `regex: [{ pattern, replacement }]`: every match of the JavaScript regular expression is
 *    replaced, `$1` and `$<name>` naming captures; rules apply in the order written.
 * The result is normalised again, so a rewrite cannot smuggle `..` or `//` to the backend.
 * A path, segment or pattern that cannot be compiled is recorded in `problems`, and the other
 * steps still compiled.
 * @returns undefined when there are no rules
 */
export function compilePathRewrite(rules: RewriteRules | undefined, at: readonly (string | number)[], problems: ConfigProblems): PathRewrite | undefined {
  if (!rules) return undefined;
  const compiled: (PathRewrite | undefined)[] = [];
  if (rules.strip_prefix !== undefined) compiled.push(problems.attempt(() => stripPrefix(rules.strip_prefix!, [...at, 'strip_prefix'])));
  for (const [from, to] of Object.entries(rules.replace ?? {})) compiled.push(problems.attempt(() => replaceSegments(from, to, [...at, 'replace', from])));
  const regexes = rules.regex ?? [];
  regexes.forEach((rule, i) => compiled.push(problems.attempt(() => regexRewrite(rule.pattern, rule.replacement, [...at, 'regex', i]))));
  const steps = compiled.filter((step) => step !== undefined);
  if (steps.length === 0) return undefined;

  return (path) => {
    let out = path;
    for (const step of steps) out = step(out);
    if (regexes.length === 0) return out;
    const normal = out.startsWith('/') ? normalizePath(out) : undefined;
    if (normal === undefined) throw new PathRewriteError(`rewrite_rules.regex turned ${JSON.stringify(path)} into ${JSON.stringify(out)}, which is not a path that can be normalised safely`);
    return normal;
  };
}

function segmentsOf(text: string, at: readonly (string | number)[], what: string): string[] {
  const trimmed = text.replace(/^\/+|\/+$/g, '');
  if (trimmed === '') return [];
  const normal = normalizeConfigPath(`/${trimmed}`);
  if (normal === undefined || normal.slice(1).split('/').length !== trimmed.split('/').length || normal.endsWith('/')) {
    throw new ConfigProblem(at, `${what} ${JSON.stringify(text)} must be plain path segments: no "." or "..", no empty segments, no bad escapes or encoded slashes`);
  }
  return normal.slice(1).split('/');
}

function stripPrefix(prefix: string, at: readonly (string | number)[]): PathRewrite {
  const segments = segmentsOf(prefix, at, 'the prefix');
  if (segments.length === 0) return (path) => path;
  const key = `/${segments.join('/')}`;
  return (path) => {
    if (path === key) return '/';
    return path.startsWith(`${key}/`) ? path.slice(key.length) : path;
  };
}

function replaceSegments(from: string, to: string, at: readonly (string | number)[]): PathRewrite {
  const needle = segmentsOf(from, at, 'the segment');
  if (needle.length === 0) throw new ConfigProblem(at, 'an empty key would replace nothing; name the segments to replace');
  const replacement = segmentsOf(to, at, 'the replacement');
  return (path) => {
    const segments = path.split('/');
    const out: string[] = [];
    for (let i = 0; i < segments.length; ) {
      if (i > 0 && needle.every((segment, j) => segments[i + j] === segment)) {
        out.push(...replacement);
        i += needle.length;
      } else {
        out.push(segments[i++]);
      }
    }
    const joined = out.join('/');
    return joined === '' ? '/' : joined.startsWith('/') ? joined : `/${joined}`;
  };
}

function regexRewrite(pattern: string, replacement: string, at: readonly (string | number)[]): PathRewrite {
  const regex = compileRegex(pattern, 'g', [...at, 'pattern']);
  return (path) => path.replace(regex, replacement);
}
