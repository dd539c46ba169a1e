import type { RequestRecord } from './RequestRecord.ts';

/** `--access-log`: one JSON object per line, a line for people, or nothing. */
export type AccessLogFormat = 'json' | 'text' | 'off';

export const ACCESS_LOG_FORMATS: readonly AccessLogFormat[] = ['json', 'text', 'off'];

/**
 * One request as one JSON line (no newline), with the fields docs/operations.md lists: `query`
 * only when the request had one, `error` only when the balancer answered itself. Written out by
 * hand rather than through an object and `JSON.stringify`, which cost several times more, on every
 * request: each text a client or a backend chose still goes through `JSON.stringify` alone.
 */
export function jsonLine(record: RequestRecord): string {
  let line = `{"time":"${rfc3339(record.startedAt)}","client":${text(record.client)},"method":${JSON.stringify(record.method)},"host":${text(record.host)},"path":${JSON.stringify(record.path)}`;
  if (record.query) line += `,"query":${JSON.stringify(record.query.slice(1))}`;
  line +=
    `,"status":${record.status},"bytes_sent":${record.bytesSent},"duration_ms":${Math.round(record.durationMs * 1000) / 1000}` +
    `,"route":${text(record.route?.name)},"backend":${text(record.backend?.name)},"attempts":${record.attempts.length}` +
    `,"request_id":${JSON.stringify(record.requestId)},"upstream_status":${record.upstreamStatus ?? null}`;
  if (record.error !== undefined) line += `,"error":${JSON.stringify(record.error)}`;
  return `${line}}`;
}

function text(value: string | undefined): string {
  return value === undefined ? 'null' : JSON.stringify(value);
}

let cachedSecond = NaN;
let cachedPrefix = '';

/** `2026-11-30T07:29:33.393Z`, as `toISOString` writes it, its date and time made once a second. */
export function rfc3339(ms: number): string {
  const second = Math.floor(ms / 1000);
  if (second !== cachedSecond) {
    cachedSecond = second;
    cachedPrefix = new Date(second * 1000).toISOString().slice(0, 20);
  }
  return `${cachedPrefix}${String(ms - second * 1000).padStart(3, '0')}Z`;
}

/**
 * One request as a line for people to read, fields in a fixed order, `-` for what is unknown:
 * `TIME CLIENT METHOD HOST PATH?QUERY STATUS BYTES DURATIONms route=R backend=B attempts=N upstream_status=S request_id=ID [error="..."]`.
 * A value the client chose that holds a space, a quote or a control character is written as a
 * JSON string, so a line always parses back into the same fields.
 */
export function textLine(record: RequestRecord): string {
  const request = `${word(record.method)} ${word(record.host ?? '-')} ${word(record.path + record.query)}`;
  let line =
    `${rfc3339(record.startedAt)} ${word(record.client ?? '-')} ${request} ${record.status} ${record.bytesSent} ` +
    `${record.durationMs.toFixed(3)}ms route=${word(record.route?.name ?? '-')} backend=${word(record.backend?.name ?? '-')} attempts=${record.attempts.length} ` +
    `upstream_status=${record.upstreamStatus ?? '-'} request_id=${word(record.requestId)}`;
  if (record.error !== undefined) line += ` error=${JSON.stringify(record.error)}`;
  return line;
}

/** Anything outside printable ASCII without spaces or quotes, written as a JSON string. */
function word(value: string): string {
  return /^[\x21\x23-\x7e]*$/.test(value) && value !== '' ? value : JSON.stringify(value);
}
