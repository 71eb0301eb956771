/** Every CLI command module; each exports `register(program)`. */
import type { Command } from 'commander';
import * as destinations from './destinations.js';
import * as forward from './forward.js';
import * as emit from './emit.js';
import * as simulate from './simulate.js';
import * as tail from './tail.js';
import * as search from './search.js';
import * as topics from './topics.js';
import * as status from './status.js';
import * as top from './top.js';
import * as deadletter from './deadletter.js';
import * as demo from './demo.js';
import * as azure from './azure.js';

export const commandModules: { register(program: Command): void }[] = [
  topics,
  tail,
  search,
  emit,
  simulate,
  forward,
  destinations,
  status,
  top,
  deadletter,
  demo,
  azure,
];
