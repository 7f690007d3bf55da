// A TCP proxy on 127.0.0.1 that delays every chunk the upstream sends back: slow answers without touching the server.
import { connect, createServer, type Server, type Socket } from 'node:net';

export interface SlowProxy {
  readonly url: string;
  close(): Promise<void>;
}

export async function startSlowProxy(upstream: URL, delayMs: number): Promise<SlowProxy> {
  const sockets = new Set<Socket>();
  const server: Server = createServer((client) => {
    const target = connect(Number(upstream.port), upstream.hostname);
    sockets.add(client);
    sockets.add(target);
    let chain = Promise.resolve();
    client.on('data', (chunk: Buffer) => target.write(chunk));
    target.on('data', (chunk: Buffer) => {
      chain = chain.then(
        () =>
          new Promise<void>((resolve) => {
            setTimeout(() => {
              if (!client.destroyed) client.write(chunk);
              resolve();
            }, delayMs);
          }),
      );
    });
    const end = () => {
      void chain.then(() => {
        client.destroy();
        target.destroy();
      });
    };
    client.on('close', () => target.destroy());
    target.on('close', end);
    client.on('error', () => target.destroy());
    target.on('error', end);
    client.on('close', () => sockets.delete(client));
    target.on('close', () => sockets.delete(target));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${address.port}`,
    async close() {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
