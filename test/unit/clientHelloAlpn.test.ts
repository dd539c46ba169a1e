import { describe, expect, it } from 'vitest';
import { clientHelloAlpn } from '../../src/acme/clientHelloAlpn.ts';
import { clientHello } from '../helpers/clientHello.ts';

// Issue 17, point 1: TLS-ALPN-01 validations are told from other connections by the ALPN list of
// their ClientHello (RFC 8737 section 3: the CA offers only acme-tls/1). The ClientHellos here are
// real ones, from node:tls, captured from a socket.

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
