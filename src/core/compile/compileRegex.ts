import { RegExpParser, visitRegExpAST } from '@eslint-community/regexpp';
import { getFirstConsumedChar } from 'regexp-ast-analysis';
import { analyse, type SelfReport, type TradeReport } from 'scslre';
import { ConfigProblem } from './ConfigProblem.ts';

type Backtracking = SelfReport | TradeReport;

/** The longest pattern checked for catastrophic backtracking. */
const MAX_PATTERN_LENGTH = 512;

/**
 * Compiles a regular expression written in the config, refusing what would cost requests dearly:
 * - an empty pattern, which matches every text, taken for a mistake;
 * - a pattern that backtracks super-linearly (ReDoS): JavaScript's engine backtracks, so in
 *   `^(a+)+$` a value of 30 `a`s and a `!` takes seconds, blocking every other request meanwhile.
 *   scslre finds the quantifiers that can split one run of a character between them (within one
 *   quantifier, `(a+)+`, or between two, `a*a*b`). What it calls a "move", the search's retry
 *   at each start of an unanchored pattern such as `[a-z]+bot`, is quadratic at worst and bounded
 *   by the header or path length the listener accepts: allowed, or most patterns would be refused.
 *   Alternatives that overlap in a repeated group (`(\w|\d)+$`), which scslre does not see,
 *   are refused as well.
 * @param flags as `RegExp` takes them; they change what can backtrack (with `i`, `a` and `A` are one character)
 * @throws ConfigProblem naming the field for an empty, invalid or backtracking pattern
 */
export function compileRegex(pattern: string, flags: string, at: readonly (string | number)[]): RegExp {
  if (pattern === '') throw new ConfigProblem(at, 'an empty pattern matches everything, so it is taken for a mistake; write what it should match');
  // The check's cost grows much faster than the pattern (a 1.2 KB alternation took 46 s and 171 MB):
  // a longer pattern is refused rather than checked, and lists take several shorter ones.
  if (pattern.length > MAX_PATTERN_LENGTH) throw new ConfigProblem(at, `a pattern of ${pattern.length} characters is longer than the ${MAX_PATTERN_LENGTH} that can be checked for catastrophic backtracking; split it into several entries`);
  let regex: RegExp;
  try {
    regex = new RegExp(pattern, flags);
  } catch (error) {
    throw new ConfigProblem(at, `${JSON.stringify(pattern)} is not a valid regular expression: ${(error as Error).message}`);
  }
  const report = backtracking(pattern, flags, at)[0];
  if (report) throw new ConfigProblem(at, describe(pattern, flags, report));
  const overlap = overlappingAlternatives(pattern, flags);
  if (overlap) {
    throw new ConfigProblem(at, `${JSON.stringify(pattern)} backtracks catastrophically (ReDoS): the alternatives of ${overlap} can start with the same character, so a long text can be split among them in exponentially many ways; make the alternatives start differently`);
  }
  return regex;
}

/**
 * The repeated group, if any, whose alternatives can begin with the same character (or match
 * nothing): `(\w|\d)+`, `(a|ab)*`. scslre does not look for these; each repetition may then take
 * either alternative, and a failing match tries every split. Conservative: such a group is refused
 * even where the overlap could not in fact be split.
 */
function overlappingAlternatives(pattern: string, flags: string): string | undefined {
  const parser = new RegExpParser();
  const parsedFlags = parser.parseFlags(flags);
  let found: string | undefined;
  visitRegExpAST(parser.parsePattern(pattern, undefined, undefined, parsedFlags), {
    onQuantifierEnter(quantifier) {
      const group = quantifier.element;
      if (found || quantifier.max !== Infinity || (group.type !== 'Group' && group.type !== 'CapturingGroup') || group.alternatives.length < 2) return;
      const firsts = group.alternatives.map((alternative) => getFirstConsumedChar(alternative, 'ltr', parsedFlags));
      for (let i = 0; i < firsts.length && !found; i++) {
        for (let j = i + 1; j < firsts.length && !found; j++) {
          if (firsts[i].empty || firsts[j].empty || !firsts[i].char.isDisjointWith(firsts[j].char)) found = quantifier.raw;
        }
      }
    },
  });
  return found;
}

function backtracking(pattern: string, flags: string, at: readonly (string | number)[]): Backtracking[] {
  try {
    return analyse({ source: pattern, flags }, { maxReports: 1, reportTypes: { Move: false } }).reports.filter((report): report is Backtracking => report.type !== 'Move');
  } catch (error) {
    // The checker's parser lags the engine's on some new syntax; unchecked is not accepted.
    throw new ConfigProblem(at, `${JSON.stringify(pattern)} cannot be checked for catastrophic backtracking (${(error as Error).message}); write it without the newest syntax`);
  }
}

function describe(pattern: string, flags: string, report: Backtracking): string {
  const run = JSON.stringify(flags.includes('i') ? report.character.pick.toLowerCase() : report.character.pick);
  const where =
    report.type === 'Self'
      ? `in ${report.parentQuant.raw}, ${report.quant.raw} can split a run of ${run}`
      : `${report.startQuant.raw} and ${report.endQuant.raw} can share a run of ${run}`;
  const growth = report.exponential ? 'exponentially' : 'polynomially';
  const fixed = report.fix();
  const fix = fixed && backtracking(fixed.source, fixed.flags, []).length === 0 ? `; ${JSON.stringify(fixed.source)} matches the same without it` : '; make each character matchable one way only';
  return `${JSON.stringify(pattern)} backtracks catastrophically (ReDoS): ${where} in ${growth} many ways, so one request holding a long such run could stall the balancer${fix}`;
}
