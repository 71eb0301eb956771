/**
 * What `insight-logs status` reports: the project's topics (partitions, end offsets), every
 * forwarder consumer group with its state and lag, and how much sits in the dead-letter topic.
 * Admin requests only; nothing joins a group.
 */
import type { Admin } from 'kafkajs';
import type { TopicNames } from '../config/topic-names.js';
import { GROUP_PREFIX } from '../forwarder/pipeline.js';
import { readReplication, replicationWarnings } from './replication.js';
import { describeGroupState, groupLag, groupsWithPrefix, offsetsOfExisting, type GroupLag, type TopicOffsets } from './offsets.js';

export interface StatusReport {
  topics: { name: string; role: 'audit' | 'operational' | 'deadletter' | 'destinations'; partitions: { partition: number; low: string; high: string }[]; endTotal: string; retained: string }[];
  missingTopics: string[];
  groups: { groupId: string; destination: string; state: string; description: string; members: number; lag: string; partitions: { topic: string; partition: number; committed: string | null; high: string; lag: string }[] }[];
  deadLettered: string;
  /** Replication that could lose acknowledged events (src/ops/replication.ts); empty when safe. */
  warnings: string[];
}

export async function collectStatus(admin: Admin, names: TopicNames, env: NodeJS.ProcessEnv = process.env): Promise<StatusReport> {
  const roles = [['audit', names.audit], ['operational', names.operational], ['deadletter', names.deadLetter], ['destinations', names.destinations]] as const;
  const { found, missing } = await offsetsOfExisting(admin, roles.map(([, t]) => t));
  const sources = new Map<string, TopicOffsets>();
  for (const t of [names.audit, names.operational]) { const o = found.get(t); if (o) sources.set(t, o); }
  const groupIds = await groupsWithPrefix(admin, GROUP_PREFIX);
  const lags: GroupLag[] = [];
  for (const id of groupIds) lags.push(await groupLag(admin, id, sources));
  const replication = await readReplication(admin, [...sources.keys()]);
  return {
    topics: roles.filter(([, t]) => found.has(t)).map(([role, t]) => {
      const o = found.get(t)!;
      return { name: t, role, partitions: o.partitions.map((p) => ({ partition: p.partition, low: String(p.low), high: String(p.high) })), endTotal: String(o.endTotal), retained: String(o.retained) };
    }),
    missingTopics: missing,
    groups: lags.map((g) => ({
      groupId: g.groupId,
      destination: g.groupId.slice(GROUP_PREFIX.length),
      state: g.state,
      description: describeGroupState(g),
      members: g.members,
      lag: String(g.totalLag),
      partitions: g.partitions.map((p) => ({ topic: p.topic, partition: p.partition, committed: p.committed === undefined ? null : String(p.committed), high: String(p.high), lag: String(p.lag) })),
    })),
    deadLettered: found.get(names.deadLetter)?.retained.toString() ?? '0',
    warnings: replicationWarnings(replication.brokers, replication.topics, env),
  };
}

/** Columns padded to their widest cell (pure). */
export function table(rows: readonly (readonly string[])[]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  return rows.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join('  ').trimEnd()).join('\n') + '\n';
}

export function formatStatus(report: StatusReport, deadLetterTopic: string): string {
  let out = table([
    ['TOPIC', 'PARTITIONS', 'END OFFSETS', 'RETAINED', 'PER PARTITION (end)'],
    ...report.topics.map((t) => [t.name, String(t.partitions.length), t.endTotal, t.retained, t.partitions.map((p) => `${p.partition}:${p.high}`).join(' ')]),
  ]);
  for (const m of report.missingTopics) out += `missing: ${m} (create it with: insight-logs topics ensure)\n`;
  for (const w of report.warnings) out += `warning: ${w}\n`;
  out += '\n';
  if (report.groups.length === 0) out += 'no forwarder consumer groups yet (start one with: insight-logs forward)\n';
  else {
    out += table([
      ['FORWARDER GROUP', 'DESTINATION', 'STATE', 'LAG'],
      ...report.groups.map((g) => [g.groupId, g.destination, g.description, g.lag]),
    ]);
  }
  out += `\ndead-lettered: ${report.deadLettered} record(s) retained in ${deadLetterTopic}${report.deadLettered !== '0' ? ' (see: insight-logs deadletter list)' : ''}\n`;
  return out;
}
