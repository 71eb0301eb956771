// Regenerates what is made from the code's column list and names (npm run build first); tests
// check both: deploy/azure/<kind>.json and the column table in docs/sinks/loganalytics.md.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { TEMPLATE_KINDS, armTemplateText } from '../dist/src/azure/templates.js';
import { columnsMarkdownTable } from '../dist/src/sinks/loganalytics/columns.js';

mkdirSync(new URL('../deploy/azure/', import.meta.url), { recursive: true });
for (const kind of TEMPLATE_KINDS) {
  writeFileSync(new URL(`../deploy/azure/${kind}.json`, import.meta.url), armTemplateText(kind));
  console.log(`deploy/azure/${kind}.json`);
}
const doc = new URL('../docs/sinks/loganalytics.md', import.meta.url);
const text = readFileSync(doc, 'utf8');
const updated = text.replace(/(<!-- columns:start[^>]*-->\n)[\s\S]*?(<!-- columns:end -->)/, (_m, start, end) => `${start}${columnsMarkdownTable()}${end}`);
if (updated === text && !text.includes('<!-- columns:start')) throw new Error('docs/sinks/loganalytics.md has no <!-- columns:start --> marker');
writeFileSync(doc, updated);
console.log('docs/sinks/loganalytics.md (column table)');
