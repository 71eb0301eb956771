/**
 * The docs agree with the column list: docs/sinks/loganalytics.md's column table is the one
 * `columnsMarkdownTable()` makes, and every KQL query in the docs names only columns its
 * tables have (KQL is case-sensitive: `CallerIpAddress` is not `CallerIPAddress`).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { packageRoot } from '../../util/package-root.js';
import { SYSTEM_COLUMNS, TABLE_FOR_CATEGORY, columnsMarkdownTable, columnsOf, type TableName } from './columns.js';

const read = (file: string): string => readFileSync(join(packageRoot(), file), 'utf8');
const TABLES = Object.values(TABLE_FOR_CATEGORY);

/** The ```kusto blocks of a Markdown file. */
export function kqlBlocks(markdown: string): string[] {
  return [...markdown.matchAll(/```kusto\n([\s\S]*?)```/g)].map((m) => m[1]!);
}

/**
 * The column identifiers a query uses: names starting with an upper-case letter or `_`
 * (KQL operators and functions are lower case), outside string literals, minus the table
 * names and the names the query defines itself (`Name = …` in extend/summarize/project).
 */
export function columnsUsed(query: string): { tables: string[]; columns: string[] } {
  const code = query.replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'/g, '""').replace(/\/\/.*$/gm, '');
  const identifiers = [...code.matchAll(/(?<![\w.])([A-Z_][A-Za-z0-9_]*)/g)].map((m) => m[1]!);
  const defined = new Set([...code.matchAll(/([A-Za-z_][A-Za-z0-9_]*)\s*=(?!=)/g)].map((m) => m[1]!));
  const tables = identifiers.filter((i) => i.endsWith('_CL'));
  const columns = identifiers.filter((i) => !i.endsWith('_CL') && !defined.has(i));
  return { tables: [...new Set(tables)], columns: [...new Set(columns)] };
}

/** Problems of one query: unknown tables, and columns that none of its tables has. */
export function queryProblems(query: string): string[] {
  const { tables, columns } = columnsUsed(query);
  const problems: string[] = [];
  if (tables.length === 0) return ['reads no _CL table'];
  for (const t of tables) if (!(TABLES as string[]).includes(t)) problems.push(`unknown table ${t}`);
  const known = new Set<string>(SYSTEM_COLUMNS);
  // A union sees every column of its tables; a single table only its own.
  for (const t of tables) if ((TABLES as string[]).includes(t)) for (const c of columnsOf(t as TableName)) known.add(c.name);
  for (const c of columns) if (!known.has(c)) problems.push(`column ${c} is not in ${tables.join(', ')}`);
  return problems;
}

test('docs/sinks/loganalytics.md shows exactly the column list (regenerate: node scripts/azure-templates.mjs)', () => {
  const doc = read('docs/sinks/loganalytics.md');
  const section = /<!-- columns:start[^>]*-->\n([\s\S]*?)<!-- columns:end -->/.exec(doc);
  assert.ok(section, 'the columns markers are missing');
  assert.equal(section[1], columnsMarkdownTable());
});

test('every KQL query in the docs uses only columns of the tables it reads', () => {
  const queries = [...kqlBlocks(read('docs/sinks/loganalytics.md')), ...kqlBlocks(read('docs/forwarder.md'))];
  assert.ok(queries.length >= 6, `expected the example queries, found ${queries.length}`);
  for (const q of queries) assert.deepEqual(queryProblems(q), [], q);
  const all = queries.join('\n');
  for (const needed of ['UserPrincipalName', 'OperationStatus', 'WorkflowJobId', 'CorrelationId']) assert.ok(all.includes(needed), `no query uses ${needed}`);
});

test('the query check fails on what would fail in Log Analytics', () => {
  assert.deepEqual(queryProblems('CIEventsAudit_CL | project CallerIpAddress'), ['column CallerIpAddress is not in CIEventsAudit_CL'], 'case matters in KQL');
  assert.deepEqual(queryProblems('CIEventsAudit_CL | project WorkflowJobId'), ['column WorkflowJobId is not in CIEventsAudit_CL'], 'audit has no workflow columns');
  assert.deepEqual(queryProblems('CIEventsAudit | take 1'), ['reads no _CL table']);
  assert.deepEqual(queryProblems('CIEventsAudit_CL | where Method == "POST" and Path has "Segments" | summarize N = count() by Properties'), ['column Properties is not in CIEventsAudit_CL']);
  assert.deepEqual(queryProblems('CIEventsOperational_CL | extend Minutes = DurationMs / 60000.0 | project Minutes, _ResourceId'), []);
});
