/**
 * A TCP proxy in front of one Kafka broker that can lose the answer to a request: the request
 * reaches the broker and is carried out, then the connection drops before the answer comes
 * back. For a Produce request that is what a client sees when a partition leader dies after its
 * followers copied a batch but before it answered (three-brokers.test.ts, leader killed -9);
 * for InitProducerId, what it sees when the broker it asked for a producer id just died. Made
 * repeatable on one broker. Start the broker with `advertisedPort: proxy.port`
 * (helpers/private-kafka.ts) so the clients' every connection goes through here.
 */
import net from 'node:net';

/** Kafka API keys (the first int16 of a request header) whose answers can be lost. */
const API_KEYS = { Produce: 0, InitProducerId: 22 } as const;

export interface KafkaProxy {
  readonly port: number;
  /** The broker's own port; set once the broker is started. */
  target: number;
  /**
   * The next `count` requests of `api` pass, their answers are dropped and their connections
   * closed. Resolves once that happened (the broker had answered: a Produce batch was written).
   */
  loseAnswers(api: keyof typeof API_KEYS, count?: number): Promise<void>;
  close(): Promise<void>;
}

/** Calls `onFrame` with each whole Kafka frame (4-byte size prefix) as the bytes arrive. */
function frames(onFrame: (frame: Buffer) => void): (chunk: Buffer) => void {
  let pending: Buffer = Buffer.alloc(0);
  return (chunk) => {
    pending = pending.length === 0 ? chunk : Buffer.concat([pending, chunk]);
    while (pending.length >= 4) {
      const size = pending.readInt32BE(0);
      if (pending.length < 4 + size) break;
      onFrame(pending.subarray(0, 4 + size));
      pending = pending.subarray(4 + size);
    }
  };
}

export async function startKafkaProxy(): Promise<KafkaProxy> {
  const sockets = new Set<net.Socket>();
  /** Answers still to lose, and what to call when the last one is lost. */
  let armed: { apiKey: number; left: number; done: () => void } | undefined;

  const server = net.createServer((client) => {
    const upstream = net.connect(proxy.target, '127.0.0.1');
    sockets.add(client).add(upstream);
    let lose: { correlationId: number; done?: () => void } | undefined;
    const closeBoth = (): void => { client.destroy(); upstream.destroy(); };
    client.on('data', frames((frame) => {
      if (armed && frame.readInt16BE(4) === armed.apiKey) {
        const last = --armed.left === 0;
        lose = { correlationId: frame.readInt32BE(8), ...(last ? { done: armed.done } : {}) };
        if (last) armed = undefined;
      }
      upstream.write(frame);
    }));
    upstream.on('data', frames((frame) => {
      if (lose && frame.readInt32BE(4) === lose.correlationId) {
        closeBoth();
        lose.done?.();
        return;
      }
      client.write(frame);
    }));
    for (const s of [client, upstream]) {
      s.on('error', closeBoth);
      s.on('close', () => { sockets.delete(s); closeBoth(); });
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));

  const proxy: KafkaProxy = {
    port: (server.address() as net.AddressInfo).port,
    target: 0,
    loseAnswers: (api, count = 1) => new Promise<void>((resolve) => { armed = { apiKey: API_KEYS[api], left: count, done: resolve }; }),
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  return proxy;
}
