#!/usr/bin/env node
/** `insight-logs`: one binary, one sub-command per job (docs/design.md, "Command line"; docs/cli.md). */
import { Command, CommanderError } from 'commander';
import { commandModules } from './commands/index.js';
import { EXIT, reportError } from './common.js';
import { defaultSinkRegistry } from '../sinks/registry.js';

export function buildProgram(): Command {
  const program = new Command('insight-logs')
    .description(`Forward audit and operational diagnostic events from Kafka to ${defaultSinkRegistry().titlesInWords()}.`)
    .option('--debug', 'print stack traces on errors', false)
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride();
  for (const module of commandModules) module.register(program);
  return program;
}

async function main(argv: string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
    return typeof process.exitCode === 'number' ? process.exitCode : EXIT.OK;
  } catch (err) {
    if (err instanceof CommanderError) {
      // --help and --version end here with code 0; usage errors were already printed by commander.
      return err.exitCode === 0 ? EXIT.OK : EXIT.USAGE;
    }
    return reportError(err, Boolean(program.opts().debug) || process.env.LOG_LEVEL === 'debug');
  }
}

// `insight-logs … | head` closes stdout early: that is the reader's choice, not an error.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw err;
  });
}

/**
 * Once a command is done (its output written, its clients closed), the process ends even if a
 * library left a handle open: kafkajs could keep a socket after a broker loss, and a shell
 * script waiting on `insight-logs simulate` must not wait forever. Unref'd: a clean exit
 * comes first and never waits for it.
 */
const EXIT_GRACE_MS = 5_000;

const code = await main(process.argv);
process.exitCode = code;
setTimeout(() => process.exit(code), EXIT_GRACE_MS).unref();
