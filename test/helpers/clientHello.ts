import { createServer, type Socket } from 'node:net';
import { connect } from 'node:tls';

/** The first bytes a node:tls client sends: its ClientHello. */
export async function clientHello(ALPNProtocols?: string[]): Promise<Buffer> {
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
