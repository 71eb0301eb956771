// Writes deploy/azure/<kind>.json from the built code (npm run build first); a test checks they match.
import { mkdirSync, writeFileSync } from 'node:fs';
import { TEMPLATE_KINDS, armTemplateText } from '../dist/src/azure/templates.js';

mkdirSync(new URL('../deploy/azure/', import.meta.url), { recursive: true });
for (const kind of TEMPLATE_KINDS) {
  writeFileSync(new URL(`../deploy/azure/${kind}.json`, import.meta.url), armTemplateText(kind));
  console.log(`deploy/azure/${kind}.json`);
}
