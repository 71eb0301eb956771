/** Every `--output` takes only its listed formats: commander refuses others before the command runs. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Command, CommanderError } from 'commander';
import { commandModules } from './commands/index.js';

const COMMANDS: [string[], string][] = [
  [['tail'], 'pretty, json'],
  [['status'], 'table, json'],
  [['destinations', 'list'], 'table, json'],
  [['deadletter', 'list'], 'pretty, json'],
  [['deadletter', 'replay'], 'pretty, json'],
];

test('a bad --output names the flag and the valid values, before anything connects', async () => {
  for (const [path, choices] of COMMANDS) {
    let stderr = '';
    // Settings set before the sub-commands are added are inherited by them.
    const program = new Command('insight-logs').exitOverride().configureOutput({ writeErr: (s) => { stderr += s; }, writeOut: () => undefined });
    for (const module of commandModules) module.register(program);
    await assert.rejects(program.parseAsync([...path, '--output', 'xml'], { from: 'user' }), (err: unknown) => {
      assert.ok(err instanceof CommanderError, `${path.join(' ')}: ${String(err)}`);
      assert.equal(err.code, 'commander.invalidArgument');
      return true;
    });
    assert.match(stderr, /option '--output <format>' argument 'xml' is invalid/, path.join(' '));
    assert.ok(stderr.includes(`Allowed choices are ${choices}.`), `${path.join(' ')}: ${stderr}`);
  }
});
