/** Resource ids of the demo instances that `emit` and `simulate` use by default. */

export const DEMO_SUBSCRIPTION = '00000000-0000-0000-0000-000000000000';
export const DEMO_RESOURCE_GROUP = 'INSIGHT-LOGS-DEMO';
export const DEMO_INSTANCE = 'CONTOSO';

export function demoResourceId(instance: string = DEMO_INSTANCE): string {
  return `/SUBSCRIPTIONS/${DEMO_SUBSCRIPTION}/RESOURCEGROUPS/${DEMO_RESOURCE_GROUP}/PROVIDERS/MICROSOFT.D365CUSTOMERINSIGHTS/INSTANCES/${instance}`;
}

export const DEMO_RESOURCE_ID = demoResourceId();
