/** `insight-logs search`: read the archive (blob containers or a dir destination) back, filtered, over a time range. */
import type { Command } from 'commander';
import { InsightLogsError, describeError } from '../../errors.js';
import { scrubSecrets } from '../../logging.js';
import { categoriesOf, containersFor, resourceScopeOf, type ContainerScope } from '../../search/plan.js';
import { newSearchStats, runSearch, type SearchStats } from '../../search/search.js';
import { resolveSource } from '../../search/source.js';
import { defaultSinkRegistry } from '../../sinks/registry.js';
import { parseFilters } from '../../tail/filter.js';
import { OUTPUT_FORMATS, formatRecord, useColor, type OutputFormat } from '../../tail/format.js';
import { collect, outputOption, parsePositiveInt, parseTime } from '../common.js';
import { withStore } from './destinations.js';

interface SearchFlags {
  from: string;
  since: string;
  until?: string;
  category: string;
  filter: string[];
  output: OutputFormat;
  max?: string;
  concurrency: string;
  connectionStringEnv: string;
  color: boolean;
  progress: boolean;
}

const PROGRESS_INTERVAL_MS = 250;

function megabytes(bytes: number): string {
  return `${(bytes / 1e6).toFixed(1)} MB`;
}

function progressLine(stats: SearchStats): string {
  return `searching: hour ${stats.hoursRead}/${stats.hoursPlanned}, ${stats.blobs} blobs, ${megabytes(stats.bytes)}, ${stats.lines} lines, ${stats.matches} matches`;
}

/** The closing line on stderr: what was read, how fast, and what was skipped. */
export function summaryLine(stats: SearchStats, elapsedMs: number): string {
  const seconds = Math.max(elapsedMs, 1) / 1000;
  const parts = [
    `search: ${stats.matches} match${stats.matches === 1 ? '' : 'es'}`,
    `${stats.hoursRead} hour folder(s) of ${stats.resources} resource folder(s)`,
    `${stats.blobs} blob(s), ${megabytes(stats.bytes)}, ${stats.lines} lines in ${seconds.toFixed(1)} s (${(stats.bytes / 1e6 / seconds).toFixed(1)} MB/s, ${Math.round(stats.lines / seconds)} lines/s)`,
  ];
  if (stats.malformed > 0) parts.push(`${stats.malformed} malformed line(s) skipped`);
  if (stats.partialLines > 0) parts.push(`${stats.partialLines} unterminated last line(s) skipped (a blob or file still being written)`);
  return parts.join('; ');
}

/** An error from storage (refused, unreachable) as one line naming where, never a key. */
function asArchiveError(err: unknown, location: string): unknown {
  if (err instanceof InsightLogsError) return err;
  return new InsightLogsError('SINK_UNAVAILABLE', `cannot read the archive at ${location}: ${scrubSecrets(describeError(err))}`, { cause: err });
}

async function search(flags: SearchFlags): Promise<void> {
  const now = Date.now();
  const sinceMs = parseTime(flags.since, '--since', now);
  const untilMs = flags.until === undefined ? now : parseTime(flags.until, '--until', now);
  const categories = categoriesOf(flags.category);
  const filters = parseFilters(flags.filter);
  const max = flags.max === undefined ? undefined : parsePositiveInt(flags.max, '--max');
  const concurrency = parsePositiveInt(flags.concurrency, '--concurrency');
  const resourceScope = resourceScopeOf(filters);
  const registry = defaultSinkRegistry();
  const source = await resolveSource(flags.from, {
    env: process.env,
    connectionStringEnv: flags.connectionStringEnv,
    destinations: () => withStore(registry, (store) => store.list()),
  });
  const containers: ContainerScope[] = source.containers.kind === 'single'
    ? [{ container: source.containers.container }]
    : containersFor(source.containers.containers, categories);
  if (containers.length === 0) {
    throw new InsightLogsError('CONFIG_INVALID', `--category ${flags.category}: ${source.description} holds none of these categories`);
  }
  if (resourceScope.kind === 'none') process.stderr.write(`search: ${resourceScope.reason}\n`);

  const stop = new AbortController();
  const onSignal = (): void => stop.abort();
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  const onStdoutError = (err: NodeJS.ErrnoException): void => {
    if (err.code === 'EPIPE') stop.abort();
  };
  process.stdout.on('error', onStdoutError);
  const color = useColor(Boolean(process.stdout.isTTY), process.env, flags.color);
  const stats = newSearchStats();
  const showProgress = flags.progress && Boolean(process.stderr.isTTY);
  let progressShown = false;
  const clearProgress = (): void => {
    if (progressShown) process.stderr.write('\r\x1b[2K');
    progressShown = false;
  };
  const drawProgress = (): void => {
    process.stderr.write(`\r\x1b[2K${progressLine(stats)}`);
    progressShown = true;
  };
  const timer = showProgress ? setInterval(drawProgress, PROGRESS_INTERVAL_MS) : undefined;
  const started = Date.now();
  try {
    await runSearch({
      reader: source.reader,
      containers,
      sinceMs,
      untilMs,
      filters,
      resourceScope,
      categories,
      concurrency,
      ...(max === undefined ? {} : { max }),
      stats,
      // The line appears as soon as the plan is known, then is redrawn in place.
      ...(showProgress ? { onPlanned: drawProgress } : {}),
      write: (event) => {
        if (stop.signal.aborted) return;
        clearProgress();
        process.stdout.write(`${formatRecord(event, flags.output, { color })}\n`);
      },
      warn: (message) => {
        clearProgress();
        process.stderr.write(`search: warning: ${message}\n`);
      },
      abortSignal: stop.signal,
    });
  } catch (err) {
    if (!stop.signal.aborted) throw asArchiveError(err, source.reader.location);
  } finally {
    if (timer) clearInterval(timer);
    clearProgress();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    process.stdout.off('error', onStdoutError);
  }
  process.stderr.write(`${summaryLine(stats, Date.now() - started)}\n`);
}

export function register(program: Command): void {
  program
    .command('search')
    .description('search the archive (a blob or dir destination, a folder, or a blob container URL) over a time range, with tail\'s filters')
    .requiredOption('--from <source>', 'a destination name (blob or dir), a folder (./out), or a blob account/container URL')
    .requiredOption('--since <time>', 'start: an ISO date or time (2026-11-01, 2026-11-01T12:00:00Z; UTC) or a duration ago (2h, 7d)')
    .option('--until <time>', 'end (exclusive), same forms as --since; default now')
    .option('--category <name>', 'audit, operational or all', 'all')
    .option('--filter <field=glob>', 'only records whose field matches (repeatable, AND; field!=glob negates); the same filters as tail', collect, [])
    .addOption(outputOption(OUTPUT_FORMATS, 'pretty (one line per event) or json (one record per line, for jq)'))
    .option('--max <n>', 'stop after n matches')
    .option('--concurrency <n>', 'hour folders read at once', '8')
    .option('--connection-string-env <VAR>', 'for a blob URL: the environment variable holding the storage connection string (unset: Azure AD)', 'AZURE_STORAGE_CONNECTION_STRING')
    .option('--no-color', 'no colours (also: NO_COLOR=1); colours are used only on a terminal')
    .option('--no-progress', 'no progress line on stderr (it is shown only on a terminal anyway)')
    .addHelpText('after', `
Only the hour folders of the range are listed (resourceId=<ID>/y=/m=/d=/h=/m=00/), and
only the resources a resourceId filter allows: an exact resourceId goes straight to its
folder. Records are matched by their own time within the hour. Matches come out hour by
hour, each hour's sorted by time. A summary (blobs, bytes, lines, matches, rate) goes to
stderr; on a terminal a progress line too.

Examples:
  $ insight-logs search --from archive --since 2026-11-01 --until 2026-12-01 --filter callerObjectId=7f3e*
  $ insight-logs search --from ./insight-logs-out --since 2h --category audit --filter method=DELETE
  $ insight-logs search --from http://127.0.0.1:10000/devstoreaccount1 --since 1d \\
      --filter resourceId='/SUBSCRIPTIONS/*/INSTANCES/CONTOSO-1' --output json | jq .operationName`)
    .action(search);
}
