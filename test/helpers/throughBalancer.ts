import type { Answer } from '../../src/core/Answer.ts';
import type { CompiledConfig } from '../../src/core/config/compileConfig.ts';
import { ErrorLog } from '../../src/core/ErrorLog.ts';
import { admit, forwardAdmitted, isAdmitted } from '../../src/core/proxy/admit.ts';
import { webBodies } from '../../src/core/proxy/webBodies.ts';
import type { Background, Upstream, UpstreamRequest, WebWire } from '../../src/core/Upstream.ts';
import { RequestRecord } from '../../src/core/observe/RequestRecord.ts';
import { clientRequest } from './clientRequest.ts';

/** An upstream that answers 200 with the origin it was sent to as the body, and remembers each request. */
export function namingUpstream(): { readonly upstream: Upstream; readonly sent: UpstreamRequest[] } {
  const sent: UpstreamRequest[] = [];
  const upstream: Upstream = async (request) => {
    sent.push(request);
    return { status: 200, headers: new Headers({ 'content-type': 'text/plain' }), body: null };
  };
  return { upstream, sent };
}

/**
 * One request the way every runtime serves it: `admit`, then `forwardAdmitted` on the web wire,
 * with `upstream` as the backends. `headers` are `[name, value, ...]`. With `background`, work
 * that outlives the answer (mirrored copies) runs there; without it, none is started.
 */
export async function throughBalancer(
  config: CompiledConfig,
  upstream: Upstream,
  request: { method?: string; target?: string; headers?: string[]; scheme?: 'http' | 'https'; body?: WebWire['body'] | null } = {},
  background?: Background<WebWire>,
): Promise<{ answer: Answer<WebWire['body']>; record: RequestRecord }> {
  const record = new RequestRecord();
  const admitted = admit(config, clientRequest(request), record);
  if (!isAdmitted(admitted)) return { answer: admitted, record };
  const answer = await forwardAdmitted(admitted, { upstream, bodies: webBodies, signal: new AbortController().signal, errorLog: new ErrorLog(() => {}), background });
  return { answer, record };
}
