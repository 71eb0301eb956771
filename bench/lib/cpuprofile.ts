/**
 * Reads a V8 `.cpuprofile` (from `node --cpu-prof`) and ranks functions by self time: each
 * sample is charged to the node it landed in, with its time delta (µs); nodes of the same
 * function (name + script + line) are added up whatever their call path.
 */

interface CallFrame { functionName: string; url: string; lineNumber: number }
interface ProfileNode { id: number; callFrame: CallFrame; hitCount?: number; children?: number[] }
export interface CpuProfile { nodes: ProfileNode[]; startTime: number; endTime: number; samples: number[]; timeDeltas: number[] }

export interface SelfTime {
  functionName: string;
  /** Script path relative to node_modules or the repository, with 1-based line. */
  where: string;
  selfMs: number;
  percent: number;
}

function shortUrl(url: string, line: number): string {
  if (!url) return '(native)';
  const nm = url.lastIndexOf('node_modules/');
  const dist = url.lastIndexOf('/dist/');
  const tail = nm >= 0 ? url.slice(nm + 'node_modules/'.length) : dist >= 0 ? url.slice(dist + 1) : url.replace(/^file:\/\//, '');
  return `${tail}:${line + 1}`;
}

export function summariseProfile(profile: CpuProfile, top = 20): SelfTime[] {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const selfUs = new Map<string, { functionName: string; where: string; us: number }>();
  let total = 0;
  profile.samples.forEach((id, i) => {
    const node = byId.get(id);
    const delta = profile.timeDeltas[i] ?? 0;
    if (!node) return;
    total += delta;
    const { functionName, url, lineNumber } = node.callFrame;
    const key = `${functionName}\u0000${url}\u0000${lineNumber}`;
    const entry = selfUs.get(key) ?? { functionName: functionName || '(anonymous)', where: shortUrl(url, lineNumber), us: 0 };
    entry.us += delta;
    selfUs.set(key, entry);
  });
  return [...selfUs.values()]
    .sort((a, b) => b.us - a.us)
    .slice(0, top)
    .map((e) => ({ functionName: e.functionName, where: e.where, selfMs: e.us / 1000, percent: total ? Math.round((e.us / total) * 1000) / 10 : 0 }));
}
