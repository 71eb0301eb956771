/** `insight-logs status`: topics, end offsets, forwarder groups with lag, dead-letter count. */
import type { Command } from 'commander';
import { topicNamesFromEnv } from '../../config/topic-names.js';
import { collectStatus, formatStatus } from '../../ops/status.js';
import { outputOption } from '../common.js';
import { asKafkaUnavailable, cliKafka, cliKafkaSettings, cliLogger, withDeadline } from '../kafka-cli.js';

async function status(flags: { output: 'table' | 'json' }): Promise<void> {
  const names = topicNamesFromEnv();
  const settings = cliKafkaSettings();
  const admin = cliKafka(settings, cliLogger()).admin();
  try {
    await withDeadline(admin.connect(), 15_000, settings, 'connecting');
    const report = await withDeadline(collectStatus(admin, names), 60_000, settings, 'reading offsets and groups');
    process.stdout.write(flags.output === 'json' ? JSON.stringify(report, null, 2) + '\n' : formatStatus(report, names.deadLetter));
  } catch (err) {
    throw asKafkaUnavailable(err, settings);
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
}

export function register(program: Command): void {
  program
    .command('status')
    .description('topics and end offsets, forwarder consumer groups with their lag, and the dead-letter count')
    .addOption(outputOption(['table', 'json'], 'table or json'))
    .addHelpText('after', `
Lag is end offset minus the group's committed offset, summed over partitions; a group that
never committed counts every retained record. Reads offsets only: never disturbs forwarders.

Examples:
  $ insight-logs status
  $ insight-logs status --output json | jq '.groups[] | {destination, lag}'`)
    .action(status);
}
