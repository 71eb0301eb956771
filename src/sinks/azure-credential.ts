/**
 * The Azure AD credential of the Azure destinations (blob `accountUrl`, eventhubs
 * `fullyQualifiedNamespace`, loganalytics without `tokenEnv`): one DefaultAzureCredential per
 * process, shared so a token is fetched once per audience, not once per sink. The only file
 * importing @azure/identity.
 *
 * DefaultAzureCredential reads its own environment (AZURE_TENANT_ID, AZURE_CLIENT_ID,
 * AZURE_CLIENT_SECRET or a certificate, AZURE_AUTHORITY_HOST, workload and managed identity).
 * MSAL first asks https://login.microsoftonline.com which authorities it knows ("instance
 * discovery"); an authority it cannot know of — Azure Stack, a private cloud, a local token
 * authority in tests — needs that step off: INSIGHT_LOGS_AZURE_DISABLE_INSTANCE_DISCOVERY=true.
 */
import { DefaultAzureCredential } from '@azure/identity';
import { configError } from '../config/settings.js';

export const DISABLE_INSTANCE_DISCOVERY_ENV = 'INSIGHT_LOGS_AZURE_DISABLE_INSTANCE_DISCOVERY';

/** The credential type the Azure SDK clients take. */
export type AzureTokenCredential = DefaultAzureCredential;

let shared: { disableInstanceDiscovery: boolean; credential: DefaultAzureCredential } | undefined;

/** `true` / `false` (or 1 / 0, any case); unset is false; anything else is a CONFIG_INVALID error naming the variable. */
export function instanceDiscoveryDisabled(env: NodeJS.ProcessEnv): boolean {
  const raw = env[DISABLE_INSTANCE_DISCOVERY_ENV]?.trim().toLowerCase();
  if (raw === undefined || raw === '' || raw === 'false' || raw === '0') return false;
  if (raw === 'true' || raw === '1') return true;
  throw configError(DISABLE_INSTANCE_DISCOVERY_ENV, 'expected true or false');
}

/** The process's DefaultAzureCredential (created on first use). */
export function azureAdCredential(env: NodeJS.ProcessEnv = process.env): AzureTokenCredential {
  const disableInstanceDiscovery = instanceDiscoveryDisabled(env);
  if (shared?.disableInstanceDiscovery !== disableInstanceDiscovery) {
    shared = { disableInstanceDiscovery, credential: new DefaultAzureCredential({ disableInstanceDiscovery }) };
  }
  return shared.credential;
}
