import type { IncomingMessage, ServerResponse } from 'node:http';
import * as answers from '../core/answers.ts';
import type { CompiledConfig } from '../core/config/compileConfig.ts';
import { admit, forwardAdmitted, isAdmitted } from '../core/proxy/admit.ts';
import type { Upstream } from '../core/Upstream.ts';
import { clientRequestOf } from './clientRequest.ts';
import { ClientSignal, nodeBodies, sendAnswer, type NodeWire } from './nodeWire.ts';

export interface HandlerOptions {
  /** The config in use, asked for per request. */
  readonly config: () => CompiledConfig;
  readonly upstream: Upstream<NodeWire>;
  readonly log: (line: string) => void;
}

/**
 * Serves HTTP requests from `node:http` (on Node, and on Deno through its Node compatibility):
 * the core's `admit` and `forwardAdmitted`, the same as every runtime runs, on the server's own
 * objects. Upgrades take the same two steps in `upgradeHandler`.
 */
export function requestHandler(options: HandlerOptions): (request: IncomingMessage, response: ServerResponse) => void {
  const { upstream, log } = options;
  const fail = (response: ServerResponse, error: unknown) => {
    log(`switchyard: internal error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
    if (!response.headersSent) sendAnswer(response, answers.internalServerError());
    else response.destroy();
  };

  return (request, response) => {
    try {
      const admitted = admit<NodeWire>(options.config(), clientRequestOf(request));
      if (!isAdmitted(admitted)) return sendAnswer(response, admitted);
      forwardAdmitted(admitted, { upstream, bodies: nodeBodies, signal: new ClientSignal(response) }).then(
        (answer) => sendAnswer(response, answer),
        (error) => fail(response, error),
      );
    } catch (error) {
      fail(response, error);
    }
  };
}
