import type { Upstream } from '../Upstream.ts';
import { UpstreamError } from '../UpstreamError.ts';
import type { CheckedBackend } from './CheckedBackend.ts';
import type { ActiveCheckSettings } from './HealthSettings.ts';

/** The timer functions a probe needs; injected so tests can drive time by hand. */
export interface Timers {
  setTimeout(callback: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

/** One probe's verdict and a reason fit for a log line, such as `GET /healthcheck -> 404`. */
export interface ProbeResult {
  readonly passed: boolean;
  readonly reason: string;
}

/**
 * Sends one health probe (`GET path`) to a backend and judges its status. The probe gives up
 * after the check's timeout, counting it as a failure. The body is never read.
 */
export async function probeBackend(backend: CheckedBackend, settings: ActiveCheckSettings, upstream: Upstream, timers: Timers): Promise<ProbeResult> {
  const what = `GET ${settings.path}`;
  const controller = new AbortController();
  const timer = timers.setTimeout(() => controller.abort(), settings.timeoutMs);
  try {
    const response = await upstream({
      origin: backend.origin,
      target: backend.basePath + settings.path,
      method: 'GET',
      headers: new Headers({ 'user-agent': 'switchyard-health-check', accept: '*/*' }),
      body: null,
      signal: controller.signal,
      timeouts: { connect: settings.timeoutMs, responseHeaders: settings.timeoutMs, bodyIdle: settings.timeoutMs },
      tls: backend.tls,
      protocol: backend.protocol,
    });
    if (response.body instanceof ReadableStream) response.body.cancel().catch(() => {});
    const passed = settings.expectedStatus.some(([low, high]) => response.status >= low && response.status <= high);
    return { passed, reason: `${what} -> ${response.status}` };
  } catch (error) {
    if (controller.signal.aborted || (error instanceof UpstreamError && error.failure === 'timeout')) {
      return { passed: false, reason: `${what} -> no answer within ${settings.timeoutMs} ms` };
    }
    const failure = error instanceof UpstreamError && error.failure === 'connect' ? 'cannot connect' : 'failed';
    return { passed: false, reason: `${what} -> ${failure} (${firstLine(error)})` };
  } finally {
    timers.clearTimeout(timer);
  }
}

function firstLine(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error);
  return text.split('\n')[0].slice(0, 200);
}
