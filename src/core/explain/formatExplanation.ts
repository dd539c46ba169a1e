import type { Explanation, PoolExplained } from './Explanation.ts';

const LABEL = 10;

/** The exit code `switchyard explain` gives: 0 when the request would be forwarded, 1 when the balancer would answer it itself. */
export function explanationExitCode(explanation: Explanation): 0 | 1 {
  return explanation.verdict.forwarded ? 0 : 1;
}

/**
 * An explanation as `switchyard explain` prints it: the request, then one section per step of the
 * lifecycle that the request reached, labels aligned, and the verdict last.
 */
export function formatExplanation(explanation: Explanation): string {
  const lines: string[] = [];
  const section = (label: string, rows: readonly string[]) => rows.forEach((row, i) => lines.push(`${(i === 0 ? label : '').padEnd(LABEL)}${row}`));
  const { request } = explanation;
  lines.push(`${request.method} ${request.url}${request.from ? `   from ${request.from}` : ''}${request.client && request.client !== request.from ? ` (client ${request.client})` : ''}`);
  if (explanation.path !== null) section('path', [`${explanation.path} (normalised)`]);
  if (explanation.path !== null) {
    section('route', explanation.routes.length === 0 ? ['✗ no route serves this host and path'] : explanation.routes.map((route) => `${route.matched ? '✓' : '✗'} ${route.route}  (${route.at})  ${route.why}`));
    section('elsewhere', explanation.other_routes.map((route) => `✗ ${route.route}  (${route.at})  ${route.why}`));
  }
  section('guards', explanation.guards.map((guard) => `${guard.passed ? '✓' : '✗'} ${guard.rule}  ${guard.level}  ${guard.why}`));
  section(
    'rules',
    explanation.rules.flatMap((rule) => [
      `${rule.rule}  ${rule.level}${rule.changes.length === 0 ? '  (changes nothing)' : ''}`,
      ...rule.changes.map((change) => `  ${change.field}: ${shown(change.before)} → ${shown(change.after)}`),
    ]),
  );
  section('gates', explanation.gates.map((gate) => `${gate.verdict === 'passes' ? '✓' : gate.verdict === 'asks' ? '?' : '✗'} ${gate.gate}  ${gate.why}`));
  const { target } = explanation;
  if (target?.kind === 'pool') section('pool', poolRows(target));
  if (target?.kind === 'split') {
    const sticky = target.sticky_cookie ? `  sticky by cookie ${target.sticky_cookie}` : '';
    section('split', [`weights ${target.sides.map((side) => `${side.pool} ${side.weight}`).join(', ')}${sticky}; no side is drawn by explain`, ...target.sides.flatMap((side) => poolRows(side).map((row) => `  ${row}`))]);
  }
  if (target?.kind === 'redirect') section('redirect', [`${target.status} to ${target.location}`]);
  if (target?.kind === 'respond') section('respond', [`${target.status}`]);
  if (explanation.mirror) section('mirror', [`a copy of ${explanation.mirror.percent}% to pool ${explanation.mirror.pool}`]);
  if (explanation.compress && explanation.verdict.forwarded) section('compress', [explanation.compress]);
  const { verdict } = explanation;
  const provided = verdict.provided.length === 0 ? '' : `, if ${verdict.provided.join(' and ')}`;
  section('verdict', [verdict.forwarded ? `${verdict.why}${provided} (exit 0)` : `answers ${verdict.status} itself: ${verdict.why}${provided} (exit 1)`]);
  return lines.join('\n');
}

function poolRows(pool: PoolExplained): string[] {
  const name = pool.pool ?? "the route's own";
  const width = Math.max(...pool.backends.map((backend) => backend.backend.length));
  return [
    `${name}  (${pool.algorithm}; explain picks none)`,
    ...pool.backends.map((backend) => `  ${backend.pickable ? '✓' : '✗'} ${backend.backend.padEnd(width)}  weight ${backend.weight}  ${backend.health}`),
  ];
}

function shown(value: string | null): string {
  return value === null ? '(none)' : value === '' ? '""' : value;
}
