/** `insight-logs topics ensure`: create the project's topics when missing (idempotent). */
import type { Command } from 'commander';
import { topicNamesFromEnv } from '../../config/topic-names.js';
import { DEFAULT_PARTITIONS, ensureTopics, replicationFactorFromEnv } from '../../kafka/topics.js';
import { parseDuration, parsePositiveInt } from '../common.js';
import { asKafkaUnavailable, cliKafka, cliKafkaSettings, cliLogger, withDeadline } from '../kafka-cli.js';

interface EnsureFlags { partitions?: string; replicationFactor?: string; retention?: string }

async function ensure(flags: EnsureFlags): Promise<void> {
  // Validate every flag before connecting anywhere.
  const partitions = flags.partitions === undefined ? DEFAULT_PARTITIONS : parsePositiveInt(flags.partitions, '--partitions');
  const replicationFactor = flags.replicationFactor === undefined ? replicationFactorFromEnv() : parsePositiveInt(flags.replicationFactor, '--replication-factor');
  const retentionMs = flags.retention === undefined ? undefined : parseDuration(flags.retention, '--retention');
  const names = topicNamesFromEnv();
  const settings = cliKafkaSettings();
  const logger = cliLogger();
  const admin = cliKafka(settings, logger).admin();
  try {
    await withDeadline(admin.connect(), 15_000, settings, 'connecting');
    const result = await ensureTopics(admin, { names, partitions, ...(replicationFactor === undefined ? {} : { replicationFactor }), ...(retentionMs === undefined ? {} : { retentionMs }), logger });
    for (const t of result.topics) {
      process.stdout.write(`${t.status === 'created' ? 'created' : 'exists '}  ${t.topic}  (${t.partitions} partition${t.partitions === 1 ? '' : 's'})\n`);
      if (t.warning) process.stderr.write(`warning: ${t.warning}\n`);
    }
    process.stdout.write(`${result.created.length} created, ${result.existed.length} already existed\n`);
  } catch (err) {
    throw asKafkaUnavailable(err, settings);
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
}

export function register(program: Command): void {
  const topics = program.command('topics').description('manage the Kafka topics insight-logs uses')
    .addHelpText('after', `
Examples:
  $ insight-logs topics ensure
  $ insight-logs topics ensure --partitions 12`);
  topics
    .command('ensure')
    .description('create insight-logs-audit, -operational, -deadletter (N partitions) and -destinations (1, compacted) when missing')
    .option('--partitions <n>', `partitions of the audit, operational and dead-letter topics (default ${DEFAULT_PARTITIONS})`)
    .option('--replication-factor <n>', 'replication factor of new topics (default KAFKA_REPLICATION_FACTOR, else min(3, brokers); min.insync.replicas 2 from 3 replicas)')
    .option('--retention <duration>', 'retention of the event topics, e.g. 7d (default: the broker\'s)')
    .addHelpText('after', `
Topic names can be changed with INSIGHT_LOGS_AUDIT_TOPIC, INSIGHT_LOGS_OPERATIONAL_TOPIC,
INSIGHT_LOGS_DEADLETTER_TOPIC and INSIGHT_LOGS_DESTINATIONS_TOPIC.
Existing topics are left as they are; one with fewer partitions than asked is reported, never changed.

Examples:
  $ insight-logs topics ensure
  $ insight-logs topics ensure --partitions 12 --replication-factor 3
  $ KAFKA_BROKERS=kafka-1:9092,kafka-2:9092 insight-logs topics ensure --retention 7d`)
    .action(ensure);
}
