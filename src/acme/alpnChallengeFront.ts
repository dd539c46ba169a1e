import { createServer as createNetServer, type Server as NetServer, type Socket } from 'node:net';
import { createServer as createTlsServer, type SecureContext } from 'node:tls';
import { normalizeHost } from '../core/routing/normalizeHost.ts';
import { clientHelloAlpn, MAX_HELLO_BYTES } from './clientHelloAlpn.ts';

/** The protocol a TLS-ALPN-01 validation offers, and only it (RFC 8737 section 3). */
export const ACME_TLS_PROTOCOL = 'acme-tls/1';

export interface AlpnChallengeFrontOptions {
  /** The challenge certificate for a name, while its order waits for validation. */
  readonly challengeFor: (host: string) => SecureContext | undefined;
  /** How long a client may take to send its ClientHello (`timeouts.client_header`). */
  readonly helloTimeout: () => number;
  readonly log: (line: string) => void;
}

/** The front's server, and what a drain's deadline calls. */
export interface AlpnChallengeFront extends NetServer {
  /**
   * Closes every connection the front has not handed to the listener: those still sending their
   * ClientHello and the validations (the listener's own are the listener's to close).
   */
  cutUnhanded(): void;
}

/**
 * TLS-ALPN-01 (RFC 8737) in front of a TLS listener: the port is bound by a plain TCP server that
 * reads each connection's ClientHello first. One offering only `acme-tls/1` is the CA validating
 * a name: it is handshaken with that name's challenge certificate and closed. Every other
 * connection is handed, bytes untouched, to `listener` as if it had accepted it. A validation has
 * `helloTimeout` in all to finish (node:tls alone would give a stalled handshake 120 s). (Node's
 * ALPNCallback would spare the front, but it cannot be combined with HTTP/2's ALPN list, and
 * Deno runs it after the SNI callback.)
 */
export function alpnChallengeFront(listener: NetServer, options: AlpnChallengeFrontOptions): AlpnChallengeFront {
  const challenges = createTlsServer({
    ALPNProtocols: [ACME_TLS_PROTOCOL],
    minVersion: 'TLSv1.2',
    SNICallback: (servername, done) => {
      const context = options.challengeFor(normalizeHost(servername));
      if (context) done(null, context);
      else done(new Error(`no tls-alpn-01 challenge pending for ${servername}`));
    },
  });
  challenges.on('secureConnection', (socket) => {
    const host = (socket as unknown as { servername?: string }).servername;
    options.log(`acme: ${host}: answered the tls-alpn-01 challenge for ${socket.remoteAddress}`);
    socket.end();
  });
  challenges.on('tlsClientError', () => {});
  const unhanded = new Set<Socket>();
  const front = createNetServer({ pauseOnConnect: true }, (socket) => {
    const chunks: Buffer[] = [];
    let length = 0;
    unhanded.add(socket);
    const timer = setTimeout(() => socket.destroy(), options.helloTimeout());
    const hand = (to: NetServer) => {
      socket.off('data', onData);
      socket.off('error', onError);
      socket.pause();
      socket.unshift(Buffer.concat(chunks, length));
      // A validation keeps the timer: the CA's handshake ends at once, a stalled one is cut.
      if (to === listener) {
        clearTimeout(timer);
        unhanded.delete(socket);
      }
      to.emit('connection', socket);
    };
    const onData = (chunk: Buffer) => {
      chunks.push(chunk);
      length += chunk.length;
      const hello = clientHelloAlpn(Buffer.concat(chunks, length));
      if (hello.incomplete && length < MAX_HELLO_BYTES) return;
      const acme = !hello.incomplete && hello.protocols.length === 1 && hello.protocols[0] === ACME_TLS_PROTOCOL;
      hand(acme ? challenges : listener);
    };
    const onError = () => clearTimeout(timer);
    socket.on('data', onData);
    socket.on('error', onError);
    socket.once('close', () => {
      clearTimeout(timer);
      unhanded.delete(socket);
    });
    socket.resume();
  });
  return Object.assign(front, {
    cutUnhanded: () => {
      for (const socket of unhanded) socket.destroy();
    },
  });
}
