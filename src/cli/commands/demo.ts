/** `insight-logs demo`: the whole pipeline on this machine for a first look (src/demo/run.ts). */
import { Option, type Command } from 'commander';
import { runDemo } from '../../demo/run.js';
import { cliLogger } from '../kafka-cli.js';
import { parseDuration, parsePositiveInt } from '../common.js';

interface DemoFlags { duration: string; rate: string; out: string; stopServices: boolean }

/** Exit code after Ctrl-C, as shells report a SIGINT death (128 + 2). */
export const EXIT_INTERRUPTED = 130;

async function demo(flags: DemoFlags): Promise<void> {
  const durationMs = parseDuration(flags.duration, '--duration');
  const rate = parsePositiveInt(flags.rate, '--rate');
  const stop = new AbortController();
  const onSignal = (): void => {
    if (stop.signal.aborted) process.exit(EXIT_INTERRUPTED); // second Ctrl-C: do not wait
    process.stdout.write('\ninterrupted: stopping (Ctrl-C again to quit at once)\n');
    stop.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    const outcome = await runDemo({
      durationMs, rate, out: flags.out, keepServices: !flags.stopServices,
      write: (text) => { process.stdout.write(text); },
      tty: Boolean(process.stdout.isTTY),
      abortSignal: stop.signal,
      logger: cliLogger(),
    });
    if (outcome === 'interrupted') process.exitCode = EXIT_INTERRUPTED;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

export function register(program: Command): void {
  program
    .command('demo')
    .description('run the whole pipeline on this machine: local Kafka + Azurite, simulator, forwarder, blob and folder output')
    .option('--duration <duration>', 'how long the simulator publishes', '20s')
    .option('--rate <n>', 'events per second', '200')
    .option('--out <dir>', 'folder of the dir destination', './insight-logs-out')
    .option('--stop-services', 'stop at the end the services this demo started (default: they keep running for the commands it suggests)', false)
    // The default before --stop-services existed; still accepted so older scripts keep working.
    .addOption(new Option('--keep-services', 'the default: leave running the services the demo started').hideHelp())
    .addHelpText('after', `
Starts what is missing of the local services (scripts/services.sh up, shipped with the
package; Java 17+ needed for Kafka, or use docker compose up -d) and uses whatever already
answers on KAFKA_PORT (9092) and AZURITE_PORT (10000). Adds the destinations demo-archive
(blob on Azurite) and demo-local (the --out folder), publishes simulated traffic, forwards it
in this process and waits until everything is delivered. What it started keeps running, so
the npx insight-logs commands it prints at the end work; it says how to stop them.
Ctrl-C stops it cleanly at any time (exit 130). See docs/demo.md.

Examples:
  $ insight-logs demo
  $ insight-logs demo --duration 1m --rate 500
  $ insight-logs demo --out /tmp/logs --stop-services
  $ npm run demo          (from a checkout: set-up if needed, build, then the demo)`)
    .action(demo);
}
