/** Every command and sub-command's --help ends with an "Examples:" section (users copy from it). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Command } from 'commander';
import { commandModules } from './commands/index.js';

function helpOf(command: Command): string {
  let text = '';
  command.configureOutput({ writeOut: (s) => { text += s; }, writeErr: (s) => { text += s; } });
  command.outputHelp();
  return text;
}

function all(command: Command, prefix: string[] = []): [string, Command][] {
  return command.commands.flatMap((c) => {
    const name = [...prefix, c.name()];
    return [[name.join(' '), c] as [string, Command], ...all(c, name)];
  });
}

test('every command has examples in its help', () => {
  const program = new Command('insight-logs');
  for (const module of commandModules) module.register(program);
  const commands = all(program);
  assert.ok(commands.length >= 15, `expected the full command tree, got ${commands.map(([n]) => n).join(', ')}`);
  const missing = commands.filter(([, c]) => !/\nExamples:\n {2}\$ insight-logs /.test(helpOf(c))).map(([n]) => n);
  assert.deepEqual(missing, [], 'add .addHelpText(\'after\', `\\nExamples:\\n  $ insight-logs …`) to these');
  for (const name of ['demo', 'status', 'deadletter list', 'deadletter replay', 'destinations test', 'tail']) {
    assert.ok(commands.some(([n]) => n === name), `${name} is registered`);
  }
});
