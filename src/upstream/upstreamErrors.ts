import { errors } from 'undici';
import { describeError, UpstreamError, upstreamErrorOf } from '../core/UpstreamError.ts';

/**
 * undici's errors before a response arrived, as the core's kinds of upstream failure: its timeouts
 * are told by their classes; the rest as every runtime's are (`upstreamErrorOf`).
 */
export function classifyUpstreamError(error: unknown): UpstreamError {
  if (error instanceof errors.ConnectTimeoutError || error instanceof errors.HeadersTimeoutError) {
    return new UpstreamError('timeout', error.message, { cause: error });
  }
  return upstreamErrorOf(error);
}

/** Errors of a body already streaming: a stalled body is a timeout, the rest a failure (never a connect failure: the connection was open). */
export function classifyBodyError(error: unknown): UpstreamError {
  if (error instanceof UpstreamError) return error;
  if (error instanceof errors.BodyTimeoutError) return new UpstreamError('timeout', error.message, { cause: error });
  return new UpstreamError('failed', describeError(error), { cause: error });
}
