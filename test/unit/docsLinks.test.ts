import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = resolve(import.meta.dirname, '../..');
const PAGES = ['README.md', ...readdirSync(join(ROOT, 'docs')).filter((name) => name.endsWith('.md')).map((name) => `docs/${name}`)];

/** A heading's anchor as GitHub makes it (github-slugger): lower case, punctuation dropped, spaces to hyphens. */
function githubSlug(heading: string): string {
  const text = heading
    .replace(/!?\[([^\]]*)\]\([^)]*\)/g, '$1') // a link or image counts by its text
    .replace(/<[^>]+>/g, '') // inline HTML tags
    .replace(/[`*~]/g, '') // code and emphasis marks
    .trim();
  return text.toLowerCase().replace(/[^\p{L}\p{M}\p{N}\p{Pc} -]/gu, '').replace(/ /g, '-');
}

/** The page's lines outside fenced code blocks, each with its line number. */
function proseLines(markdown: string): Array<[number, string]> {
  const lines: Array<[number, string]> = [];
  let fence: string | undefined;
  markdown.split('\n').forEach((line, index) => {
    const marker = /^\s*(`{3,}|~{3,})/.exec(line)?.[1];
    if (fence) {
      if (marker && marker[0] === fence[0] && marker.length >= fence.length) fence = undefined;
    } else if (marker) {
      fence = marker;
    } else {
      lines.push([index + 1, line]);
    }
  });
  return lines;
}

/** Every anchor a page defines, duplicates numbered as GitHub numbers them (`x`, `x-1`, `x-2`). */
function anchorsOf(markdown: string): Set<string> {
  const anchors = new Set<string>();
  const seen = new Map<string, number>();
  for (const [, line] of proseLines(markdown)) {
    const heading = /^ {0,3}#{1,6}\s+(.*?)(?:\s+#+)?\s*$/.exec(line)?.[1];
    if (heading === undefined) continue;
    const slug = githubSlug(heading);
    const count = seen.get(slug) ?? 0;
    seen.set(slug, count + 1);
    anchors.add(count === 0 ? slug : `${slug}-${count}`);
  }
  return anchors;
}

interface Link {
  readonly page: string;
  readonly line: number;
  readonly target: string;
}

/** Relative links and images of a page (code spans and code blocks are not links); link text may span lines. */
function relativeLinksOf(page: string, markdown: string): Link[] {
  const prose = new Map(proseLines(markdown));
  const text = markdown
    .split('\n')
    .map((line, index) => (prose.has(index + 1) ? line : ''))
    .join('\n')
    .replace(/(`+)[^`]*?\1/g, (span) => span.replace(/[^\n]/g, ' '));
  const links: Link[] = [];
  for (const match of text.matchAll(/!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g)) {
    const target = match[1];
    if (/^[a-z][a-z0-9+.-]*:/i.test(target)) continue; // https:, mailto: and the like
    links.push({ page, line: text.slice(0, match.index).split('\n').length, target });
  }
  return links;
}

/** Why a link does not resolve, or undefined when it does. */
function brokenReason(link: Link): string | undefined {
  const [path, anchor] = link.target.split('#', 2) as [string, string | undefined];
  const file = path === '' ? join(ROOT, link.page) : resolve(dirname(join(ROOT, link.page)), decodeURIComponent(path));
  if (!file.startsWith(ROOT)) return 'points outside the repository';
  if (!existsSync(file)) return `${relative(ROOT, file)} does not exist`;
  if (anchor === undefined) return undefined;
  if (!file.endsWith('.md') || statSync(file).isDirectory()) return 'an anchor on a file that is not Markdown';
  const anchors = anchorsOf(readFileSync(file, 'utf8'));
  return anchors.has(decodeURIComponent(anchor)) ? undefined : `no heading #${anchor} in ${relative(ROOT, file)}`;
}

describe('githubSlug', () => {
  it.each([
    ['Quick start', 'quick-start'],
    ['Health checks, balancing, retries and timeouts', 'health-checks-balancing-retries-and-timeouts'],
    ['Passive health (ejection)', 'passive-health-ejection'],
    ['Query rules (`param_rules`)', 'query-rules-param_rules'],
    ['Trusted proxies (top level only)', 'trusted-proxies-top-level-only'],
    ['The upstream on undici\'s `dispatch`', 'the-upstream-on-undicis-dispatch'],
    ['Node.js', 'nodejs'],
    ['Limits and timeouts', 'limits-and-timeouts'],
    ['A  B', 'a--b'],
  ])('makes %j into #%s, as GitHub does', (heading, slug) => {
    expect(githubSlug(heading)).toBe(slug);
  });

  it('numbers repeated headings from -1, as GitHub does', () => {
    expect([...anchorsOf('# A\n## A\n```sh\n# A\n```\n### A\n')]).toEqual(['a', 'a-1', 'a-2']);
  });
});

describe('README.md and docs/*.md', () => {
  it('finds the pages and their links', () => {
    expect(PAGES.length).toBeGreaterThan(1);
    expect(PAGES.flatMap((page) => relativeLinksOf(page, readFileSync(join(ROOT, page), 'utf8'))).length).toBeGreaterThan(20);
  });

  it('has no relative link or #anchor that does not resolve', () => {
    const broken = PAGES.flatMap((page) => relativeLinksOf(page, readFileSync(join(ROOT, page), 'utf8')))
      .map((link) => ({ link, reason: brokenReason(link) }))
      .filter(({ reason }) => reason !== undefined)
      .map(({ link, reason }) => `${link.page}:${link.line}: (${link.target}) ${reason}`);
    expect(broken).toEqual([]);
  });

  it('links every docs page from the README, one click away', () => {
    const linked = new Set(relativeLinksOf('README.md', readFileSync(join(ROOT, 'README.md'), 'utf8')).map((link) => link.target.split('#')[0]));
    expect(PAGES.filter((page) => page !== 'README.md' && !linked.has(page))).toEqual([]);
  });
});
