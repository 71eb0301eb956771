/**
 * `insight-logs azure template loganalytics|eventhubs|storage`: print the ARM template that
 * sets up a destination in Azure (src/azure/templates.ts; copies in deploy/azure/). Offline:
 * it reads nothing and connects nowhere.
 */
import type { Command } from 'commander';
import { InsightLogsError } from '../../errors.js';
import { TEMPLATE_KINDS, armTemplateText, type TemplateKind } from '../../azure/templates.js';

export function register(program: Command): void {
  const azure = program.command('azure').description('Azure set-up for the destinations (templates to deploy)')
    .addHelpText('after', `
Examples:
  $ insight-logs azure template loganalytics > la.json
  $ insight-logs azure template storage`);
  azure
    .command('template')
    .argument('<destination>', TEMPLATE_KINDS.join(' | '))
    .description('print the ARM template (JSON) that creates what a destination type writes to, with its role assignment')
    .addHelpText('after', `
Examples:
  $ insight-logs azure template loganalytics > la.json
  $ az deployment group create -g my-rg --template-file la.json \\
      --parameters workspaceName=my-workspace principalId=<object id of the forwarder's identity>
  $ insight-logs azure template eventhubs
  $ insight-logs azure template storage

The same files are in deploy/azure/. Outputs give the settings of the destination
(loganalytics: endpoint and ruleId; eventhubs: fullyQualifiedNamespace; storage: accountUrl).`)
    .action((destination: string) => {
      if (!(TEMPLATE_KINDS as readonly string[]).includes(destination)) {
        throw new InsightLogsError('CONFIG_INVALID', `destination: "${destination}" has no template; one of ${TEMPLATE_KINDS.join(', ')}`);
      }
      process.stdout.write(armTemplateText(destination as TemplateKind));
    });
}
