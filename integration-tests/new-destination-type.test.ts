/**
 * Adding a destination type is a folder and one registry line (docs/destinations.md). The
 * `notebook` type lives in integration-tests/notebook-sink/ and is registered here with
 * `registry.with(…)`; without any other change, `destinations add` offers its flag and
 * describes it, its settings are validated with their path, `destinations add` and
 * `destinations test` work for it, and a forwarder delivers records to it.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { Command } from 'commander';
import { register as registerDestinations } from '../src/cli/commands/destinations.js';
import { parseDestination } from '../src/config/destinations.js';
import { hasCode } from '../src/errors.js';
import { Forwarder } from '../src/forwarder/forwarder.js';
import { kafkaSettingsFromEnv } from '../src/kafka/client.js';
import { defaultSinkRegistry } from '../src/sinks/registry.js';
import { notebooks, notebookSinkType } from './notebook-sink/sink.js';
import { apiEventWithId, idOf } from './helpers/records.js';
import { createTopics, deleteTopics, publishEvents, uniqueName } from '../testkit/kafka.js';
import { getServices } from '../testkit/services.js';

const registry = defaultSinkRegistry().with(notebookSinkType);

function program(): Command {
  const root = new Command('insight-logs').exitOverride();
  registerDestinations(root, registry);
  return root;
}

function helpOf(command: Command): string {
  let text = '';
  command.configureOutput({ writeOut: (s) => { text += s; }, writeErr: (s) => { text += s; } });
  command.outputHelp();
  return text;
}

/** Runs `insight-logs destinations …` in this process (with the test's registry); returns what it printed. */
async function destinations(...args: string[]): Promise<string> {
  let out = '';
  const write = process.stdout.write.bind(process.stdout);
  process.stdout.write = ((chunk: string | Uint8Array) => { out += String(chunk); return true; }) as typeof process.stdout.write;
  try {
    await program().parseAsync(['destinations', ...args], { from: 'user' });
  } finally {
    process.stdout.write = write;
  }
  return out;
}

describe('a destination type added as a folder', () => {
  test('destinations add offers its flag and describes it', () => {
    const add = program().commands.find((c) => c.name() === 'destinations')!.commands.find((c) => c.name() === 'add')!;
    const help = helpOf(add).replace(/\s+/g, ' ');
    assert.match(help, /--type <type> blob \| dir \| eventhubs \| kafka \| loganalytics( \| memory)? \| notebook/);
    assert.match(help, /--notebook <name> notebook: the notebook records are written into/);
    assert.match(help, /notebook records appended to an in-process notebook \(this test only\)/);
  });

  test('its settings are parsed once, with the shared wording and the path', () => {
    const config = parseDestination({ name: 'nb', type: 'notebook', notebook: 'n1' }, 'destinations[0]', registry);
    assert.deepEqual(config.sinkSettings, { notebook: 'n1' });
    assert.throws(() => parseDestination({ name: 'nb', type: 'notebook', notebok: 'n1' }, 'destinations[0]', registry),
      (err: unknown) => hasCode(err, 'CONFIG_INVALID') && /destinations\[0\]\.notebok: unknown key \(allowed here: notebook\)/.test(err.message));
    assert.throws(() => parseDestination({ name: 'nb', type: 'notebook' }, 'destinations[0]', registry), /destinations\[0\]\.notebook: set the notebook name/);
  });

  describe('through the CLI and a forwarder', { timeout: 120_000 }, () => {
    let brokers: string[];
    let prefix: string;
    let forwarder: Forwarder | undefined;
    const topics = () => ({ audit: `${prefix}-audit`, operational: `${prefix}-operational` });

    before(async () => {
      brokers = (await getServices()).kafkaBrokers;
      prefix = uniqueName('new-type');
      await createTopics(brokers, Object.values(topics()), 2);
      // The CLI reads the cluster and the destinations topic from the environment, as a user's shell would set them.
      process.env.KAFKA_BROKERS = brokers.join(',');
      process.env.INSIGHT_LOGS_DESTINATIONS_TOPIC = `${prefix}-destinations`;
    });

    after(async () => {
      await forwarder?.stop();
      if (prefix) await deleteTopics(brokers, [...Object.values(topics()), `${prefix}-destinations`, `${prefix}-deadletter`]);
    });

    test('destinations add and test work for it, and a forwarder delivers to it', async () => {
      const notebook = `nb-${randomUUID().slice(0, 8)}`;
      const added = await destinations('add', 'notes', '--type', 'notebook', '--notebook', notebook, '--categories', 'audit');
      assert.match(added, /destination "notes" \(notebook, audit\) added/);
      assert.match(await destinations('test', 'notes'), new RegExp(`destination "notes" \\(notebook\\): OK: notebook ${notebook} of notes is open`));

      forwarder = new Forwarder({
        kafka: kafkaSettingsFromEnv({ KAFKA_BROKERS: brokers.join(',') }),
        topics: topics(),
        destinationsTopic: `${prefix}-destinations`,
        deadLetterTopic: `${prefix}-deadletter`,
        registry,
      });
      await forwarder.start();
      const events = Array.from({ length: 30 }, (_, i) => apiEventWithId(randomUUID(), { audit: true, instance: `I-${i % 3}` }));
      await publishEvents(brokers, topics().audit, events);
      const deadline = Date.now() + 60_000;
      while ((notebooks.get(notebook)?.length ?? 0) < events.length) {
        if (Date.now() > deadline) throw new Error(`only ${notebooks.get(notebook)?.length ?? 0} of ${events.length} records arrived`);
        await new Promise((r) => setTimeout(r, 200));
      }
      const arrived = new Set(notebooks.get(notebook)!.map((r) => idOf(r.event)));
      for (const e of events) assert.ok(arrived.has(idOf(e)), `record ${idOf(e)} arrived`);
    });
  });
});
