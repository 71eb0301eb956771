/**
 * `insight-logs deadletter list|replay`: see what could not be delivered and why, and send it
 * through again once the cause is fixed (see src/ops/deadletter.ts for the bookkeeping).
 */
import type { Command } from 'commander';
import { defaultSchemaRegistry } from '../../codec/schema-registry.js';
import { topicNamesFromEnv } from '../../config/topic-names.js';
import { REPLAY_GROUP, listDeadLetters, replayDeadLetters, validateReasonCode, type DeadLetterEntry } from '../../ops/deadletter.js';
import { outputOption, parsePositiveInt } from '../common.js';
import { asKafkaUnavailable, cliKafka, cliKafkaSettings, cliLogger, withDeadline } from '../kafka-cli.js';

function source(e: DeadLetterEntry): string {
  return e.source ? `${e.source.topic}/${e.source.partition}@${e.source.offset}` : '(unknown source)';
}

function bytes(n: number): string {
  return n < 10_240 ? `${n} B` : `${(n / 1024).toFixed(1)} KiB`;
}

function prettyEntry(e: DeadLetterEntry & { replayed: boolean }): string {
  return `${e.time}  ${e.code}  destination ${e.destination || '-'}  from ${source(e)}  ${bytes(e.size)}  [deadletter ${e.partition}@${e.offset}${e.replayed ? ', replayed' : ''}]\n` +
    `    reason: ${e.reason}\n` +
    `    record: ${e.summary}\n`;
}

function jsonEntry(e: DeadLetterEntry & { replayed?: boolean }): Record<string, unknown> {
  return {
    deadLetter: { partition: e.partition, offset: e.offset },
    time: e.time, code: e.code, reason: e.reason, destination: e.destination,
    source: e.source ?? null, size: e.size, key: e.key?.toString('utf8') ?? null, summary: e.summary,
    ...(e.replayed === undefined ? {} : { replayed: e.replayed }),
  };
}

async function withKafka<T>(run: (kafka: ReturnType<typeof cliKafka>) => Promise<T>, what: string): Promise<T> {
  const settings = cliKafkaSettings();
  try {
    return await withDeadline(run(cliKafka(settings, cliLogger())), 120_000, settings, what);
  } catch (err) {
    throw asKafkaUnavailable(err, settings);
  }
}

async function list(flags: { max: string; output: 'pretty' | 'json' }): Promise<void> {
  const max = parsePositiveInt(flags.max, '--max');
  const topic = topicNamesFromEnv().deadLetter;
  const result = await withKafka((kafka) => listDeadLetters({ kafka, topic, registry: defaultSchemaRegistry(), max }), 'reading the dead-letter topic');
  if (flags.output === 'json') {
    process.stdout.write(JSON.stringify({ topic, total: String(result.total), records: result.entries.map(jsonEntry) }, null, 2) + '\n');
    return;
  }
  if (result.entries.length === 0) {
    process.stdout.write(`${topic} is empty: nothing was dead-lettered\n`);
    return;
  }
  process.stdout.write(`${topic}: ${result.total} record(s) retained; the ${result.entries.length} most recent:\n\n`);
  for (const e of result.entries) process.stdout.write(prettyEntry(e));
}

interface ReplayFlags { destination?: string; reasonCode?: string; dryRun: boolean; output: 'pretty' | 'json' }

async function replay(flags: ReplayFlags): Promise<void> {
  const reasonCode = flags.reasonCode === undefined ? undefined : validateReasonCode(flags.reasonCode);
  const topic = topicNamesFromEnv().deadLetter;
  const records: DeadLetterEntry[] = [];
  const result = await withKafka((kafka) => replayDeadLetters({
    kafka, topic, registry: defaultSchemaRegistry(), dryRun: flags.dryRun,
    selection: { ...(flags.destination === undefined ? {} : { destination: flags.destination }), ...(reasonCode === undefined ? {} : { reasonCode }) },
    onRecord: (e) => records.push(e),
  }), 'replaying the dead-letter topic');
  if (flags.output === 'json') {
    process.stdout.write(JSON.stringify({ dryRun: flags.dryRun, ...result, records: records.map(jsonEntry) }, null, 2) + '\n');
    return;
  }
  const verb = flags.dryRun ? 'would replay' : 'replayed';
  for (const e of records) process.stdout.write(`${verb} deadletter ${e.partition}@${e.offset} → ${source(e)}  ${e.code}  ${e.summary}\n`);
  const to = Object.entries(result.bySourceTopic).map(([t, n]) => `${n} to ${t}`).join(', ');
  process.stdout.write(`${flags.dryRun ? 'dry run: ' : ''}${result.replayed} record(s) ${verb}${to ? ` (${to})` : ''}; ${result.alreadyReplayed} replayed before, ${result.skipped} not selected${result.unreplayable ? `, ${result.unreplayable} without source headers (cannot be replayed)` : ''}\n`);
}

export function register(program: Command): void {
  const deadletter = program.command('deadletter').description('inspect the dead-letter topic and replay records once their cause is fixed')
    .addHelpText('after', `
Examples:
  $ insight-logs deadletter list
  $ insight-logs deadletter replay --dry-run`);
  deadletter
    .command('list')
    .description('the most recent dead-lettered records: reason, code, origin, destination, time, size, a decoded summary')
    .option('--max <n>', 'how many of the most recent records to show', '20')
    .addOption(outputOption(['pretty', 'json'], 'pretty or json'))
    .addHelpText('after', `
Examples:
  $ insight-logs deadletter list
  $ insight-logs deadletter list --max 100 --output json | jq '.records[] | .code' | sort | uniq -c`)
    .action(list);
  deadletter
    .command('replay')
    .description('re-publish selected dead-lettered records to their source topic (original key and bytes) for a fixed forwarder')
    .option('--destination <name>', 'only records dead-lettered by this destination')
    .option('--reason-code <CODE>', 'only records with this error code (e.g. RECORD_TOO_LARGE, DESTINATION_REFUSED)')
    .option('--dry-run', 'show what would be replayed; publish nothing', false)
    .addOption(outputOption(['pretty', 'json'], 'pretty or json'))
    .addHelpText('after', `
Each replayed message carries the header x-replayed-from: <deadletter topic>/<partition>/<offset>.
What was replayed is remembered in the consumer group ${REPLAY_GROUP}, so running replay
again does not publish the same records twice. A replayed record goes to its source topic, so
every destination reading that topic receives it again (at least once).

Examples:
  $ insight-logs deadletter replay --dry-run
  $ insight-logs deadletter replay --destination archive --reason-code SINK_UNAVAILABLE
  $ insight-logs deadletter replay`)
    .action(replay);
}
