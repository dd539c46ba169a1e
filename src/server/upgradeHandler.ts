import { ServerResponse, type IncomingMessage, type Server } from 'node:http';
import type { Socket } from 'node:net';
import { Duplex } from 'node:stream';
import { admit, forwardAdmitted, isAdmitted } from '../core/proxy/admit.ts';
import { offersWebSocket } from '../core/proxy/webSocket.ts';
import type { Answer } from '../core/Answer.ts';
import * as answers from '../core/answers.ts';
import type { ErrorLog, FailedRequest } from '../core/ErrorLog.ts';
import { RequestRecord } from '../core/observe/RequestRecord.ts';
import { clientRequestOf } from './clientRequest.ts';
import { httpsRedirect } from './httpsRedirect.ts';
import { ClientSignal, nodeBodies, type NodeWire } from './nodeWire.ts';
import { answerBytes } from './answerBytes.ts';
import { askedOf, type HandlerOptions } from './requestHandler.ts';
import { afterPendingResponse, closeSoon } from './socketEnd.ts';
import { tunnelUpstream } from './tunnelUpstream.ts';

/**
 * `node:http` hands every request carrying `Upgrade` to its `upgrade` event, outside the request
 * handler. A WebSocket upgrade takes the same path as any request: admitted (routing, firewall,
 * rules), then forwarded (a backend picked, counted in flight until the tunnel closes, retried and
 * recorded on failure) with `tunnelUpstream` as the client; a 101 joins the two connections. Any
 * other upgrade (`h2c`, say) is declined as HTTP allows (RFC 9110 section 7.8): the request is
 * served as the plain request it also is, when it carries no body; one with a body cannot be read
 * here any more, and is refused.
 */
export function upgradeHandler(server: Server, options: HandlerOptions): (incoming: IncomingMessage, socket: Duplex, head: Buffer) => void {
  return (incoming, socket, head) => {
    socket.on('error', () => {});
    const request = clientRequestOf(incoming);
    if (!offersWebSocket(incoming.method, incoming.headers.upgrade)) {
      if (request.body !== null || head.length > 0) return refuse(socket, answers.notImplemented('an upgrade request with a body'));
      const response = new ServerResponse(incoming);
      response.shouldKeepAlive = false;
      response.assignSocket(socket as Socket);
      // node:http stopped passing the socket's 'drain' on at the upgrade: without it, a response
      // larger than the socket's buffer would wait for ever (curl --http2 sends such requests).
      socket.on('drain', () => response.emit('drain'));
      response.once('finish', () => closeSoon(socket));
      server.emit('request', incoming, response);
      return;
    }
    // Logged once the connection closes, the tunnel's whole life: the bytes the client was sent
    // on it, and the status of the answer to the handshake (499 when none was sent).
    const record = new RequestRecord();
    let status = 499;
    const answered = (answer: Answer<unknown>) => void (status = answer.status);
    const { observe } = options;
    if (observe) {
      const before = (socket as Socket).bytesWritten ?? 0;
      socket.once('close', () => {
        record.bytesSent = ((socket as Socket).bytesWritten ?? before) - before;
        record.finish(status);
        observe(record);
      });
    }
    // The handshake is a GET without content (RFC 6455 section 4.1); a body would reach the backend
    // as the tunnel's first bytes, past every rule.
    if (request.body !== null) {
      record.error = 'a WebSocket handshake has no body';
      return refuse(socket, answers.badRequest(record.error), answered);
    }
    if (options.redirectHttps) return refuse(socket, httpsRedirect(request, options.redirectHttps, record), answered);
    try {
      const admitted = admit<NodeWire>(options.config(), { ...request, body: null }, record);
      if (!isAdmitted(admitted)) return refuse(socket, admitted, answered);
      // The one upgrade a balancer joins end to end: the hop-by-hop pair goes on to the backend.
      admitted.outgoing.headers.set('connection', 'upgrade');
      admitted.outgoing.headers.set('upgrade', 'websocket');
      // The tunnel is the upstream; forward_auth's subrequest is plain HTTP.
      const transport = { upstream: tunnelUpstream, subrequest: options.upstream, bodies: nodeBodies, signal: new ClientSignal(socket), errorLog: options.errorLog };
      forwardAdmitted(admitted, transport).then(
        // A response still on its way for a request pipelined before this one goes out first.
        (answer) => afterPendingResponse(socket).then(() => join(socket, head, answer, answered)),
        (error) => fail(socket, admitted.exchange, error, options.errorLog, answered),
      );
    } catch (error) {
      fail(socket, askedOf(incoming), error, options.errorLog, answered);
    }
  };
}

/** A 101 joins the client's connection to the backend's; anything else is written and the connection closed. */
function join(client: Duplex, head: Buffer, answer: Answer<NodeWire['body']>, answered: (answer: Answer<unknown>) => void): void {
  const backend = answer.body;
  if (answer.status !== 101 || !(backend instanceof Duplex)) {
    if (backend !== null && typeof backend !== 'string' && !(backend instanceof Uint8Array)) nodeBodies.discard(backend);
    return refuse(client, { ...answer, body: typeof backend === 'string' || backend instanceof Uint8Array ? backend : null }, answered);
  }
  if (client.destroyed) return void backend.destroy();
  answered(answer);
  client.write(rawHead(answer));
  if (head.length > 0) backend.write(head);
  backend.on('error', () => client.destroy());
  backend.on('close', () => client.destroy());
  client.on('close', () => backend.destroy());
  backend.pipe(client);
  client.pipe(backend);
}

/** The 101's head: the backend's end-to-end fields (and the balancer's, a sticky cookie), with the upgrade pair. */
function rawHead(answer: Answer<unknown>): string {
  let head = 'HTTP/1.1 101 Switching Protocols\r\n';
  answer.headers.forEach((value, name) => (head += `${name}: ${value}\r\n`));
  return `${head}connection: Upgrade\r\nupgrade: websocket\r\n\r\n`;
}

/**
 * Writes the balancer's answer and closes the connection, whatever the client does: no server
 * manages this socket any more. A response still pending on it goes first.
 */
function refuse(socket: Duplex, answer: Answer<Uint8Array>, answered?: (answer: Answer<unknown>) => void): void {
  void afterPendingResponse(socket).then(() => {
    if (!socket.writable) return void socket.destroy();
    answered?.(answer);
    closeSoon(socket, answerBytes(answer));
  });
}

function fail(socket: Duplex, asked: FailedRequest, error: unknown, errorLog: ErrorLog, answered: (answer: Answer<unknown>) => void): void {
  errorLog.internalError(asked, error);
  refuse(socket, answers.internalServerError(), answered);
}
