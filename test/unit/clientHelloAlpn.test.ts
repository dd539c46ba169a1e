import { createServer, type Socket } from 'node:net';
import { connect } from 'node:tls';
import { describe, expect, it } from 'vitest';
import { clientHelloAlpn } from '../../src/acme/clientHelloAlpn.ts';

// Issue 17, point 1: TLS-ALPN-01 validations are told from other connections by the ALPN list of
// their ClientHello (RFC 8737 section 3: the CA offers only acme-tls/1). The ClientHellos here are
// real ones, from node:tls, captured from a socket.

/** The first bytes a node:tls client sends: its ClientHello. */
async function clientHello(ALPNProtocols?: string[]): Promise<Buffer> {
  const received: Buffer[] = [];
  let socketOf: Socket | undefined;
  const server = createServer((socket) => {
    socketOf = socket;
    socket.on('data', (chunk: Buffer) => received.push(chunk));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const client = connect({ host: '127.0.0.1', port: (server.address() as { port: number }).port, servername: 'a.test', ALPNProtocols });
  client.on('error', () => {});
  await new Promise<void>((resolve) => {
    const poll = setInterval(() => {
      const bytes = Buffer.concat(received);
      if (bytes.length >= 5 && bytes.length >= 5 + bytes.readUInt16BE(3)) clearInterval(poll), resolve();
    }, 5);
  });
  client.destroy();
  socketOf?.destroy();
  server.close();
  return Buffer.concat(received);
}

describe('clientHelloAlpn', () => {
  it('reads the protocols a ClientHello offers, in order', async () => {
    expect(clientHelloAlpn(await clientHello(['acme-tls/1']))).toEqual({ incomplete: false, protocols: ['acme-tls/1'] });
    expect(clientHelloAlpn(await clientHello(['h2', 'http/1.1']))).toEqual({ incomplete: false, protocols: ['h2', 'http/1.1'] });
  });

  it('finds none in a ClientHello without ALPN', async () => {
    expect(clientHelloAlpn(await clientHello())).toEqual({ incomplete: false, protocols: [] });
  });

  it('asks for more bytes until the record is whole, at every cut', async () => {
    const hello = await clientHello(['acme-tls/1']);
    for (let cut = 0; cut < hello.length; cut++) expect(clientHelloAlpn(hello.subarray(0, cut)).incomplete, `cut at ${cut}`).toBe(true);
  });

  it('finds none in what is not a TLS handshake, or a record whose lengths lie, without throwing', async () => {
    expect(clientHelloAlpn(Buffer.from('GET / HTTP/1.1\r\n\r\n'))).toEqual({ incomplete: false, protocols: [] });
    const hello = await clientHello(['acme-tls/1']);
    for (let at = 5; at < hello.length; at++) {
      for (const value of [0x00, 0xff]) {
        const broken = Buffer.from(hello);
        broken[at] = value;
        expect(() => clientHelloAlpn(broken)).not.toThrow();
      }
    }
  });
});
