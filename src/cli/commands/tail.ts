/** `insight-logs tail`: follow the category topics live, filtered, as readable lines or JSON. */
import type { Command } from 'commander';
import { defaultSchemaRegistry } from '../../codec/schema-registry.js';
import { InsightLogsError } from '../../errors.js';
import { topicNamesFromEnv } from '../../config/topic-names.js';
import { parseFilters } from '../../tail/filter.js';
import { OUTPUT_FORMATS, useColor, type OutputFormat } from '../../tail/format.js';
import { runTail } from '../../tail/tail.js';
import { collect, outputOption, parsePositiveInt, parseTime } from '../common.js';
import { asKafkaUnavailable, cliKafka, cliKafkaSettings, cliLogger } from '../kafka-cli.js';

interface TailFlags {
  category: string;
  fromBeginning: boolean;
  since?: string;
  filter: string[];
  output: OutputFormat;
  max?: string;
  groupId?: string;
  color: boolean;
}

/** Topics of a --category value (INSIGHT_LOGS_AUDIT_TOPIC / _OPERATIONAL_TOPIC override the names). */
function topicsOf(category: string): string[] | undefined {
  const names = topicNamesFromEnv();
  const byCategory: Record<string, string[]> = { audit: [names.audit], operational: [names.operational], all: [names.audit, names.operational] };
  return byCategory[category.toLowerCase()];
}

/** `15m` (that long ago) or an ISO 8601 time. */
export function parseSince(value: string, now = Date.now()): number {
  return parseTime(value, '--since', now);
}

async function tail(flags: TailFlags): Promise<void> {
  const topics = topicsOf(flags.category);
  if (!topics) throw new InsightLogsError('CONFIG_INVALID', `--category: "${flags.category}" is not one of audit, operational, all`);
  const filters = parseFilters(flags.filter);
  const sinceMs = flags.since === undefined ? undefined : parseSince(flags.since);
  const max = flags.max === undefined ? undefined : parsePositiveInt(flags.max, '--max');
  const settings = cliKafkaSettings();
  const logger = cliLogger();

  const stop = new AbortController();
  const onSignal = () => stop.abort();
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  // `tail … | head` closes stdout early: stop quietly instead of crashing on EPIPE.
  const onStdoutError = (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') stop.abort();
  };
  process.stdout.on('error', onStdoutError);
  try {
    const result = await runTail({
      kafka: cliKafka(settings, logger),
      registry: defaultSchemaRegistry(),
      topics,
      fromBeginning: flags.fromBeginning,
      ...(sinceMs === undefined ? {} : { sinceMs }),
      filters,
      format: flags.output,
      color: useColor(Boolean(process.stdout.isTTY), process.env, flags.color),
      ...(max === undefined ? {} : { max }),
      ...(flags.groupId ? { groupId: flags.groupId } : {}),
      write: (line) => { if (!stop.signal.aborted) process.stdout.write(line + '\n'); },
      warn: (line) => process.stderr.write(line + '\n'),
      abortSignal: stop.signal,
      logger,
    });
    if (result.undecodable > 0) process.stderr.write(`tail: ${result.undecodable} message(s) could not be decoded (see warnings above)\n`);
  } catch (err) {
    throw asKafkaUnavailable(err, settings);
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    process.stdout.off('error', onStdoutError);
  }
}

export function register(program: Command): void {
  program
    .command('tail')
    .description('follow the audit and/or operational topics live (never commits offsets, never disturbs forwarders)')
    .option('--category <name>', 'audit, operational or all', 'all')
    .option('--from-beginning', 'start at the oldest retained message instead of new ones', false)
    .option('--since <time>', 'start at messages written since a duration ago (15m, 2h) or an ISO time')
    .option('--filter <field=glob>', 'only records whose field matches (repeatable, AND; field!=glob negates)', collect, [])
    .addOption(outputOption(OUTPUT_FORMATS, 'pretty (one line per event) or json (one record per line, for jq)'))
    .option('--max <n>', 'exit after printing n records')
    .option('--no-color', 'no colours (also: NO_COLOR=1); colours are used only on a terminal')
    .option('--group-id <id>', 'consumer group to use (default a random insight-logs-tail-…; offsets are never committed)')
    .addHelpText('after', `
Fields for --filter use dots: time, resourceId, operationName, category, resultType,
resultSignature, durationMs, callerIpAddress, level, uri, properties.<name>
(properties.method, properties.path, properties.workflowJobId, …; a bare property name
works too: method=DELETE), identity.Claims.<claim>. Globs: * any run, ? one character;
values match case-sensitively and whole.

On a terminal, Error and Critical lines are red and Warning lines yellow (NO_COLOR=1 or
--no-color turns that off). Workflow lines show the job id's first 8 characters, the task,
its place in the run (2/4) once the run's start was seen, and the task's friendly name.

Examples:
  $ insight-logs tail
  $ insight-logs tail --category audit --since 15m
  $ insight-logs tail --filter properties.method=DELETE --filter resultType=Failure
  $ insight-logs tail --filter operationName='Segmentation.*' --filter level=Error
  $ insight-logs tail --from-beginning --output json --max 100 | jq .operationName`)
    .action(tail);
}
