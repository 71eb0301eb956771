/** Every CLI command module; each exports `register(program)`. */
import type { Command } from 'commander';

export const commandModules: { register(program: Command): void }[] = [];
