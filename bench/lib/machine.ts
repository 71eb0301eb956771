/** What the figures were measured on: cores, RAM, Node and Kafka versions, load. */
import { readdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { repoRoot } from '../../testkit/services.js';

export interface MachineInfo {
  cores: number;
  cpuModel: string;
  ramGiB: number;
  node: string;
  kafka: string;
  platform: string;
  /** 1-minute load average when the run started (other engineers share this machine). */
  loadAtStart: number;
}

/** The Kafka version from the broker jars scripts/services.sh installs, if present. */
export function kafkaVersion(): string {
  try {
    const jar = readdirSync(path.join(repoRoot(), '.local', 'kafka', 'libs')).find((f) => /^kafka-clients-[\d.]+\.jar$/.test(f));
    return jar ? jar.replace(/^kafka-clients-|\.jar$/g, '') : 'unknown';
  } catch {
    return 'unknown (no .local/kafka/libs)';
  }
}

export function machineInfo(): MachineInfo {
  return {
    cores: os.cpus().length,
    cpuModel: os.cpus()[0]?.model ?? 'unknown',
    ramGiB: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
    node: process.version,
    kafka: kafkaVersion(),
    platform: `${os.type()} ${os.release()}`,
    loadAtStart: Math.round(os.loadavg()[0]! * 100) / 100,
  };
}

export const load1 = (): number => Math.round(os.loadavg()[0]! * 100) / 100;
