import { errors } from 'undici';
import { UpstreamError } from '../core/Upstream.ts';

/** Failures to open a connection: the request never reached the backend, so any method may be retried. */
const CONNECT_CODES = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN', 'EADDRNOTAVAIL']);

function failed(error: unknown): UpstreamError {
  return new UpstreamError('failed', (error as Error)?.message ?? String(error), { cause: error });
}

/** undici's errors before a response arrived, as the core's kinds of upstream failure. */
export function classifyUpstreamError(error: unknown): UpstreamError {
  if (error instanceof UpstreamError) return error;
  if (error instanceof errors.ConnectTimeoutError || error instanceof errors.HeadersTimeoutError) {
    return new UpstreamError('timeout', error.message, { cause: error });
  }
  const code = (error as { code?: string }).code;
  if (code && CONNECT_CODES.has(code)) return new UpstreamError('connect', `${code}: ${(error as Error).message}`, { cause: error });
  return failed(error);
}

/** Errors of a body already streaming: a stalled body is a timeout, the rest a failure. */
export function classifyBodyError(error: unknown): UpstreamError {
  if (error instanceof UpstreamError) return error;
  if (error instanceof errors.BodyTimeoutError) return new UpstreamError('timeout', error.message, { cause: error });
  return failed(error);
}
