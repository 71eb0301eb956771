/** Publishes bench events at a steady rate through the EventProducer, without awaiting each one. */
import type { EventProducer } from '../../src/producer/event-producer.js';
import { benchEvent } from './events.js';

export const nowMs = (): number => performance.timeOrigin + performance.now();

/**
 * Publishes `rate`/s for `seconds` (catching up in 5 ms ticks); ids are `<publish epoch ms>.<seq>`.
 * Resolves when everything is acknowledged; rejects if any publish failed.
 */
export async function publishAtRate(producer: EventProducer, runId: string, rate: number, seconds: number, from = 0): Promise<number> {
  const total = Math.round(rate * seconds);
  const started = nowMs();
  const failures: unknown[] = [];
  let published = 0;
  while (published < total) {
    const due = Math.min(total, Math.floor(((nowMs() - started) / 1000) * rate));
    for (; published < due; published++) {
      const seq = from + published;
      producer.publish(benchEvent(seq, runId, `${Math.round(nowMs())}.${seq}`)).catch((err: unknown) => failures.push(err));
    }
    await new Promise((r) => setTimeout(r, 5));
  }
  await producer.flush();
  if (failures.length) throw new Error(`${failures.length} of ${total} events failed to publish: ${String(failures[0])}`);
  return published;
}
