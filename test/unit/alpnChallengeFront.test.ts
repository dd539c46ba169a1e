import acme from 'acme-client';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { createSecureContext, type SecureContext } from 'node:tls';
import { afterEach, describe, it } from 'vitest';
import { alpnChallengeFront, type AlpnChallengeFront } from '../../src/acme/alpnChallengeFront.ts';
import { clientHello } from '../helpers/clientHello.ts';
import { holdsFor, waitFor } from '../helpers/waitFor.ts';

// Issue 17, TLS-ALPN-01: the front that reads each ClientHello may hold a connection only as long
// as a client may take to send its headers, whatever the client does, and a drain's deadline
// closes what it holds (the listener closes what it was handed).

let challenge: SecureContext;
const opened: Socket[] = [];
const servers: Server[] = [];

afterEach(() => {
  for (const socket of opened.splice(0)) socket.destroy();
  for (const server of servers.splice(0)) server.close();
});

async function startFront(helloTimeoutMs: number): Promise<{ front: AlpnChallengeFront; handed: Socket[]; port: number }> {
  if (!challenge) {
    const [key, cert] = await acme.crypto.createAlpnCertificate({ url: '', identifier: { type: 'dns', value: 'a.test' }, status: 'pending', challenges: [] }, 'token.thumbprint');
    challenge = createSecureContext({ key, cert });
  }
  const handed: Socket[] = [];
  // The real listener keeps what it is handed open (a client between requests).
  const listener = createServer((socket) => void handed.push(socket));
  const front = alpnChallengeFront(listener, { challengeFor: (host) => (host === 'a.test' ? challenge : undefined), helloTimeout: () => helloTimeoutMs, log: () => {} });
  servers.push(listener, front);
  await new Promise<void>((resolve) => front.listen(0, '127.0.0.1', resolve));
  return { front, handed, port: (front.address() as { port: number }).port };
}

/** A raw client that sends `bytes` and then nothing: it never answers the server's handshake. */
async function stalled(port: number, bytes: Buffer): Promise<{ socket: Socket; closed: () => boolean }> {
  const socket = connect(port, '127.0.0.1');
  opened.push(socket);
  let closed = false;
  socket.on('error', () => {});
  socket.on('data', () => {});
  socket.once('close', () => (closed = true));
  await new Promise<void>((resolve) => socket.once('connect', resolve));
  socket.write(bytes);
  return { socket, closed: () => closed };
}

describe('alpnChallengeFront', () => {
  it('cuts a validation whose handshake stalls once the hello timeout is spent, not node:tls’s 120 s later', async () => {
    const { port } = await startFront(300);
    const client = await stalled(port, await clientHello(['acme-tls/1']));
    await waitFor(client.closed, 10_000, 'the stalled validation to be closed');
  });

  it('on cutUnhanded closes the connections still sending their ClientHello and the validations, and leaves the listener its own', async () => {
    const { front, handed, port } = await startFront(60_000);
    const partial = await stalled(port, (await clientHello(['h2'])).subarray(0, 3));
    const validation = await stalled(port, await clientHello(['acme-tls/1']));
    const request = await stalled(port, await clientHello(['h2', 'http/1.1']));
    await waitFor(() => handed.length === 1, 5_000, 'the h2 connection handed to the listener');
    front.cutUnhanded();
    await waitFor(() => partial.closed() && validation.closed(), 5_000, 'the partial hello and the validation closed');
    await holdsFor(() => !request.closed(), 300, "the listener's connection stays open");
  });
});
