/**
 * The forwarder as a child process, exactly as an operator runs it:
 * `node dist/src/cli/main.js forward --destinations-file <file>`, the destinations applied
 * through the destinations store (a topic of this child alone, so nobody else's forwarder sees
 * them and it runs nothing else),
 * source topics set by INSIGHT_LOGS_*_TOPIC. Optional `--cpu-prof`.
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { repoRoot } from '../../testkit/services.js';
import { startChild, type Child } from './child.js';

export interface ForwarderChildOptions {
  brokers: string[];
  /** Source topic for both categories. */
  topic: string;
  runId: string;
  /** Destination definitions as in a destinations file. */
  destinations: Record<string, unknown>[];
  workDir: string;
  env?: Record<string, string>;
  cpuProfDir?: string;
  label: string;
}

export function startForwarderChild(o: ForwarderChildOptions): Child {
  const file = path.join(o.workDir, `${o.label}-destinations.json`);
  writeFileSync(file, JSON.stringify({ destinations: o.destinations }, null, 2));
  const main = path.join(repoRoot(), 'dist', 'src', 'cli', 'main.js');
  const nodeArgs = o.cpuProfDir ? ['--cpu-prof', `--cpu-prof-dir=${o.cpuProfDir}`] : [];
  return startChild(process.execPath, [...nodeArgs, main, 'forward', '--destinations-file', file, '--metrics-port', '0', '--stop-timeout', '20s'], {
    cwd: o.workDir,
    logFile: path.join(o.workDir, `${o.label}.log`),
    env: {
      ...process.env,
      KAFKA_BROKERS: o.brokers.join(','),
      LOG_LEVEL: 'warn',
      INSIGHT_LOGS_AUDIT_TOPIC: o.topic,
      INSIGHT_LOGS_OPERATIONAL_TOPIC: o.topic,
      INSIGHT_LOGS_DEADLETTER_TOPIC: `bench-${o.runId}-deadletter`,
      // One destinations topic per child: it runs only the destination(s) of this measurement.
      INSIGHT_LOGS_DESTINATIONS_TOPIC: `bench-${o.runId}-${o.label}-destinations`,
      ...o.env,
    },
  });
}
