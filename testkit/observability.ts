/**
 * deploy/observability read back for tests: the PromQL of every dashboard panel and of every
 * rule, the metric names they use, and a copy of the rules with short windows and `for:`
 * durations for a Prometheus that must fire an alert within a test's minute.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';

export const OBSERVABILITY_DIR = 'deploy/observability';
export const RULES_FILE = `${OBSERVABILITY_DIR}/insight-logs.rules.yml`;
export const DASHBOARD_FILE = `${OBSERVABILITY_DIR}/grafana/dashboards/insight-logs.json`;
export const RULE_TESTS_FILE = `${OBSERVABILITY_DIR}/tests/insight-logs.test.yml`;

export interface PanelQuery { panel: string; expr: string }
export interface Rule { group: string; record?: string; alert?: string; expr: string; for?: string }

interface Panel { title?: string; type?: string; targets?: { expr?: string }[]; panels?: Panel[] }

/** Every target expression of every panel (rows' nested panels included). */
export function dashboardQueries(root: string): PanelQuery[] {
  const dashboard = JSON.parse(readFileSync(join(root, DASHBOARD_FILE), 'utf8')) as { panels: Panel[] };
  const out: PanelQuery[] = [];
  const visit = (panels: Panel[]): void => {
    for (const p of panels) {
      for (const t of p.targets ?? []) if (t.expr) out.push({ panel: p.title ?? '?', expr: t.expr });
      if (p.panels) visit(p.panels);
    }
  };
  visit(dashboard.panels);
  return out;
}

export function rules(root: string, text = readFileSync(join(root, RULES_FILE), 'utf8')): Rule[] {
  const doc = parseYaml(text) as { groups: { name: string; rules: Omit<Rule, 'group'>[] }[] };
  return doc.groups.flatMap((g) => g.rules.map((r) => ({ group: g.name, ...r, expr: String(r.expr).trim() })));
}

/**
 * Metric names an expression selects: `insight_logs_…` and recorded `level:metric:operation`
 * names, not functions (followed by `(`), label names (inside `{}`), or `by (…)` lists.
 */
export function metricNamesIn(expr: string): string[] {
  const withoutLabels = expr.replace(/\{[^}]*\}/g, '{}').replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, '');
  const names = new Set<string>();
  for (const m of withoutLabels.matchAll(/\b([a-zA-Z_:][a-zA-Z0-9_:]*)\b(?!\s*\()/g)) {
    const name = m[1]!;
    if (name.startsWith('insight_logs_') || (name.includes(':') && name.includes('insight_logs'))) names.add(name);
  }
  return [...names];
}

/**
 * The rules with every range and offset shortened to `window` and every `for:` to `forDuration`
 * (whole minutes only are written in the file), nothing else changed: the same expressions,
 * evaluated by a Prometheus scraping every second, fire within a test.
 */
export function shortenedRules(text: string, window: string, forDuration: string): string {
  const out = text
    .replace(/\[(\d+)m\]/g, `[${window}]`)
    .replace(/offset (\d+)m\b/g, `offset ${window}`)
    .replace(/^(\s+for:) \d+m$/gm, `$1 ${forDuration}`);
  if (/\[\d+m\]|offset \d+m\b|for: \d+m/.test(out)) throw new Error('shortenedRules: a window was left unchanged');
  return out;
}
