import type { RequestRecord } from './RequestRecord.ts';

/** `--access-log`: one JSON object per line, a line for people, or nothing. */
export type AccessLogFormat = 'json' | 'text' | 'off';

export const ACCESS_LOG_FORMATS: readonly AccessLogFormat[] = ['json', 'text', 'off'];

/**
 * One request as one JSON line (no newline), with the fields docs/operations.md lists: `query`
 * only when the request had one, `error` only when the balancer answered itself.
 */
export function jsonLine(record: RequestRecord): string {
  return JSON.stringify({
    time: new Date(record.startedAt).toISOString(),
    client: record.client ?? null,
    method: record.method,
    host: record.host ?? null,
    path: record.path,
    query: record.query ? record.query.slice(1) : undefined,
    status: record.status,
    bytes_sent: record.bytesSent,
    duration_ms: Math.round(record.durationMs * 1000) / 1000,
    route: record.route?.name ?? null,
    backend: record.backend?.name ?? null,
    attempts: record.attempts.length,
    request_id: record.requestId,
    upstream_status: record.upstreamStatus ?? null,
    error: record.error,
  });
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
    `${new Date(record.startedAt).toISOString()} ${word(record.client ?? '-')} ${request} ${record.status} ${record.bytesSent} ` +
    `${record.durationMs.toFixed(3)}ms route=${word(record.route?.name ?? '-')} backend=${word(record.backend?.name ?? '-')} attempts=${record.attempts.length} ` +
    `upstream_status=${record.upstreamStatus ?? '-'} request_id=${word(record.requestId)}`;
  if (record.error !== undefined) line += ` error=${JSON.stringify(record.error)}`;
  return line;
}

/** Anything outside printable ASCII without spaces or quotes, written as a JSON string. */
function word(value: string): string {
  return /^[\x21\x23-\x7e]*$/.test(value) && value !== '' ? value : JSON.stringify(value);
}
