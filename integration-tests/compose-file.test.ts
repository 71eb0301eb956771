/**
 * docker-compose.yml, Dockerfile and docker/ checked against the code, without Docker: the
 * environment variables the forwarder reads, ports, Kafka listeners, image pins, the Event
 * Hubs emulator's hubs, depends_on targets and the runtime stage of the image. No engine runs
 * on the machines this was written on, so this is what keeps the files honest.
 *
 * Every check is a pure function returning the problems it found; the last tests break copies
 * of the files in a temp dir and make sure each check notices.
 */
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import { parse as parseYaml } from 'yaml';
import { commandModules } from '../src/cli/commands/index.js';
import { parseDestinationsText } from '../src/config/destinations.js';
import { CATEGORY_NAMES, topicFor } from '../src/events/routing.js';
import { parseBlobSettings } from '../src/sinks/blob/config.js';
import { parseEventHubsSettings } from '../src/sinks/eventhubs/config.js';
import { defaultSinkRegistry } from '../src/sinks/registry.js';
import { packageRoot } from '../src/util/package-root.js';
import { EMULATOR_IMAGE } from '../testkit/eventhubs.js';

// ---- loading ------------------------------------------------------------------------------

type Env = Record<string, string>;
interface PortMapping { host?: number; container: number }
interface Service {
  image?: string;
  build?: unknown;
  command?: string[];
  entrypoint?: string[];
  environment: Env;
  ports: PortMapping[];
  volumes: string[];
  healthcheck?: { test?: unknown; disable?: boolean };
  dependsOn: Record<string, string>;
  restart?: string;
  profiles: string[];
}
interface DockerStage { from: string; name?: string; instructions: [string, string][] }
interface Stack {
  services: Record<string, Service>;
  stages: DockerStage[];
  destinations: unknown;
  hubConfig: any;
  packageJson: { version: string; bin: Record<string, string> };
  /** deploy/observability: Prometheus config, rules text, Grafana provisioning and dashboards. */
  observability: { prometheus: any; rules: string; datasources: any; dashboardProviders: any; dashboards: any[] };
}
/** What the code says, independent of the files under test. */
interface CodeFacts { envRead: Set<string>; hubs: string[]; sinkDefaultHubs: string[]; sinkDefaultContainers: string[] }

const COMPOSE = 'docker-compose.yml';
const DOCKERFILE = 'Dockerfile';
const DESTINATIONS = 'docker/destinations.yaml';
const HUB_CONFIG = 'docker/eventhubs-emulator/Config.json';
const HUB_CONFIG_IN_CONTAINER = '/Eventhubs_Emulator/ConfigFiles/Config.json';
const OBSERVABILITY = 'deploy/observability';
const PROMETHEUS_CONFIG = `${OBSERVABILITY}/prometheus.yml`;
const RULES = `${OBSERVABILITY}/insight-logs.rules.yml`;
const GRAFANA = `${OBSERVABILITY}/grafana`;

function asStringList(value: unknown): string[] | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value === 'string') return value.split(/\s+/).filter(Boolean);
  return (value as unknown[]).map(String);
}

function asEnv(value: unknown): Env {
  if (!value) return {};
  if (Array.isArray(value)) {
    return Object.fromEntries(value.map((entry: string) => {
      const i = entry.indexOf('=');
      return i < 0 ? [entry, ''] : [entry.slice(0, i), entry.slice(i + 1)];
    }));
  }
  return Object.fromEntries(Object.entries(value as Record<string, unknown>).map(([k, v]) => [k, v === null ? '' : String(v)]));
}

function asPorts(value: unknown): PortMapping[] {
  return ((value as unknown[] | undefined) ?? []).map((p) => {
    if (typeof p === 'object' && p !== null) {
      const { published, target } = p as { published?: unknown; target: unknown };
      return { container: Number(target), ...(published === undefined ? {} : { host: Number(published) }) };
    }
    // "[ip:]host:container[/proto]" or "container"
    const parts = String(p).replace(/\/\w+$/, '').split(':');
    const container = Number(parts.at(-1));
    return parts.length >= 2 ? { host: Number(parts.at(-2)), container } : { container };
  });
}

function asDependsOn(value: unknown): Record<string, string> {
  if (!value) return {};
  if (Array.isArray(value)) return Object.fromEntries(value.map((name: string) => [name, 'service_started']));
  return Object.fromEntries(Object.entries(value as Record<string, { condition?: string }>).map(([k, v]) => [k, v?.condition ?? 'service_started']));
}

function parseCompose(text: string): Record<string, Service> {
  // merge: the services share the forwarder image through a `<<: *anchor` extension field.
  const doc = parseYaml(text, { merge: true }) as { services?: Record<string, any> };
  const services: Record<string, Service> = {};
  for (const [name, raw] of Object.entries(doc.services ?? {})) {
    services[name] = {
      image: raw.image,
      build: raw.build,
      command: asStringList(raw.command),
      entrypoint: asStringList(raw.entrypoint),
      environment: asEnv(raw.environment),
      ports: asPorts(raw.ports),
      volumes: ((raw.volumes ?? []) as unknown[]).map((v) => (typeof v === 'string' ? v : `${(v as any).source}:${(v as any).target}`)),
      healthcheck: raw.healthcheck,
      dependsOn: asDependsOn(raw.depends_on),
      restart: raw.restart,
      profiles: asStringList(raw.profiles) ?? [],
    };
  }
  return services;
}

function parseDockerfile(text: string): DockerStage[] {
  const lines = text.replace(/\\\r?\n/g, ' ').split(/\r?\n/).map((l) => l.trim()).filter((l) => l && !l.startsWith('#'));
  const stages: DockerStage[] = [];
  for (const line of lines) {
    const m = /^(\w+)\s+(.*)$/.exec(line);
    if (!m) continue;
    const keyword = m[1]!.toUpperCase();
    const rest = m[2]!;
    if (keyword === 'FROM') {
      const from = /^(?:--platform=\S+\s+)?(\S+)(?:\s+AS\s+(\S+))?/i.exec(rest)!;
      stages.push({ from: from[1]!, ...(from[2] ? { name: from[2] } : {}), instructions: [] });
    } else {
      stages.at(-1)?.instructions.push([keyword, rest]);
    }
  }
  return stages;
}

function loadStack(root: string): Stack {
  const read = (path: string): string => readFileSync(join(root, path), 'utf8');
  return {
    services: parseCompose(read(COMPOSE)),
    stages: parseDockerfile(read(DOCKERFILE)),
    destinations: parseYaml(read(DESTINATIONS)),
    hubConfig: JSON.parse(read(HUB_CONFIG)),
    packageJson: JSON.parse(read('package.json')),
    observability: {
      prometheus: parseYaml(read(PROMETHEUS_CONFIG)),
      rules: read(RULES),
      datasources: parseYaml(read(`${GRAFANA}/provisioning/datasources/prometheus.yml`)),
      dashboardProviders: parseYaml(read(`${GRAFANA}/provisioning/dashboards/insight-logs.yml`)),
      dashboards: readdirSync(join(root, `${GRAFANA}/dashboards`)).filter((f) => f.endsWith('.json')).map((f) => JSON.parse(read(`${GRAFANA}/dashboards/${f}`))),
    },
  };
}

/** Environment variable names read by src/ (tests excluded): `process.env.X`, `env.X`, `env['X']`, `(env, 'X'`. */
function envVarsReadBy(srcDir: string): Set<string> {
  const names = new Set<string>();
  const patterns = [
    /\benv\.([A-Z][A-Z0-9_]*)\b/g,
    /\benv\[\s*['"]([A-Z][A-Z0-9_]*)['"]\s*\]/g,
    /\(\s*env\s*,\s*['"]([A-Z][A-Z0-9_]*)['"]/g,
  ];
  const walk = (dir: string): void => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.test.ts') && !entry.name.endsWith('.d.ts')) {
        const text = readFileSync(path, 'utf8');
        for (const re of patterns) for (const m of text.matchAll(re)) names.add(m[1]!);
      }
    }
  };
  walk(srcDir);
  return names;
}

function codeFacts(root: string): CodeFacts {
  const eventHubs = parseEventHubsSettings({ connectionStringEnv: 'ANY_NAME' }, 'probe');
  const blob = parseBlobSettings({ connectionStringEnv: 'ANY_NAME' }, 'probe');
  return {
    envRead: envVarsReadBy(join(root, 'src')),
    hubs: CATEGORY_NAMES.map((c) => topicFor(c)).sort(),
    sinkDefaultHubs: Object.values(eventHubs.hubs).sort(),
    sinkDefaultContainers: Object.values(blob.containers).sort(),
  };
}

// ---- helpers over the parsed files --------------------------------------------------------

function destinationEntries(stack: Stack): Record<string, unknown>[] {
  const list = (stack.destinations as { destinations?: unknown[] } | null)?.destinations;
  return Array.isArray(list) ? (list as Record<string, unknown>[]) : [];
}

/** Values of every `…Env` setting in the destinations file: the variables the sinks will look up. */
function envNamesFromDestinations(stack: Stack): string[] {
  const names: string[] = [];
  const visit = (value: unknown): void => {
    if (Array.isArray(value)) value.forEach(visit);
    else if (value && typeof value === 'object') {
      for (const [k, v] of Object.entries(value)) {
        if (/Env$/.test(k) && typeof v === 'string') names.push(v);
        else visit(v);
      }
    }
  };
  visit(stack.destinations);
  return names;
}

/** Services running our own image (built from the Dockerfile). */
function appServices(stack: Stack): [string, Service][] {
  return Object.entries(stack.services).filter(([, s]) => s.build !== undefined);
}

function flagValue(args: string[] | undefined, flag: string): string | undefined {
  if (!args) return undefined;
  const i = args.indexOf(flag);
  if (i >= 0) return args[i + 1];
  const inline = args.find((a) => a.startsWith(`${flag}=`));
  return inline?.slice(flag.length + 1);
}

function healthcheckText(h: Service['healthcheck']): string {
  return Array.isArray(h?.test) ? h.test.join(' ') : String(h?.test ?? '');
}

function runtimeStage(stack: Stack): DockerStage | undefined {
  return stack.stages.at(-1);
}

function instructions(stage: DockerStage | undefined, keyword: string): string[] {
  return (stage?.instructions ?? []).filter(([k]) => k === keyword).map(([, rest]) => rest);
}

function listenerMap(value: string | undefined): Map<string, { host: string; port: number }> {
  const out = new Map<string, { host: string; port: number }>();
  for (const item of (value ?? '').split(',').map((s) => s.trim()).filter(Boolean)) {
    const m = /^([A-Z0-9_]+):\/\/([^:]*):(\d+)$/.exec(item);
    if (m) out.set(m[1]!, { host: m[2]!, port: Number(m[3]) });
  }
  return out;
}

// ---- the checks ---------------------------------------------------------------------------

type Check = (stack: Stack, code: CodeFacts) => string[];

const checkEnvironment: Check = (stack, code) => {
  const problems: string[] = [];
  const forwarder = stack.services.forwarder;
  if (!forwarder) return ['compose: no "forwarder" service'];
  const fromDestinations = envNamesFromDestinations(stack);
  for (const name of ['KAFKA_BROKERS', ...fromDestinations]) {
    if (!forwarder.environment[name]) problems.push(`forwarder.environment: ${name} is needed (read by the code or named in ${DESTINATIONS}) but not set`);
  }
  // The other way round: a variable nothing reads is a typo or a leftover.
  const known = new Set([...code.envRead, ...fromDestinations]);
  for (const [name, service] of appServices(stack)) {
    for (const key of Object.keys(service.environment)) {
      if (!known.has(key)) problems.push(`${name}.environment: ${key} is set but nothing in src/ or ${DESTINATIONS} reads it`);
    }
    if (!service.environment.KAFKA_BROKERS) problems.push(`${name}.environment: KAFKA_BROKERS is not set (the default 127.0.0.1:9092 is the container itself)`);
  }
  return problems;
};

const checkMetricsPorts: Check = (stack) => {
  const problems: string[] = [];
  const forwarder = stack.services.forwarder;
  const port = Number(flagValue(forwarder?.command, '--metrics-port'));
  if (!forwarder || !Number.isInteger(port) || port <= 0) return ['forwarder.command: no --metrics-port <port>'];
  if (!forwarder.ports.some((p) => p.container === port)) problems.push(`forwarder.ports: container port ${port} (--metrics-port) is not published`);
  // The server binds 127.0.0.1 by default: a published port would answer nothing.
  if (flagValue(forwarder.command, '--metrics-host') !== '0.0.0.0') problems.push('forwarder.command: --metrics-host 0.0.0.0 is needed for the published metrics port to be reachable');
  const exposed = instructions(runtimeStage(stack), 'EXPOSE').flatMap((e) => e.split(/\s+/)).map((e) => Number(e.split('/')[0]));
  if (!exposed.includes(port)) problems.push(`Dockerfile: EXPOSE ${exposed.join(' ') || '(none)'} does not include the metrics port ${port}`);
  const dockerHealth = instructions(runtimeStage(stack), 'HEALTHCHECK').join(' ');
  const probes: [string, string][] = [['Dockerfile HEALTHCHECK', dockerHealth], ['forwarder.healthcheck', healthcheckText(forwarder.healthcheck)]];
  for (const [where, text] of probes) {
    const m = /\/\/(?:127\.0\.0\.1|localhost):(\d+)\/healthz/.exec(text);
    if (!m) problems.push(`${where}: does not probe /healthz`);
    else if (Number(m[1]) !== port) problems.push(`${where}: probes port ${m[1]}, the forwarder serves metrics on ${port}`);
  }
  return problems;
};

const checkKafka: Check = (stack) => {
  const problems: string[] = [];
  const kafka = stack.services.kafka;
  if (!kafka) return ['compose: no "kafka" service'];
  const env = kafka.environment;
  const advertised = listenerMap(env.KAFKA_ADVERTISED_LISTENERS);
  const bound = listenerMap(env.KAFKA_LISTENERS);
  // Every client in the stack must be handed back an address it can reach on the same port.
  for (const [name, service] of appServices(stack)) {
    for (const broker of (service.environment.KAFKA_BROKERS ?? '').split(',').filter(Boolean)) {
      const [host, port] = broker.split(':');
      if (!stack.services[host!]) problems.push(`${name}.environment.KAFKA_BROKERS: host "${host}" is not a compose service`);
      const listener = [...advertised.entries()].find(([, a]) => a.host === host);
      if (!listener) problems.push(`kafka: no advertised listener for ${host} (used by ${name})`);
      else if (listener[1].port !== Number(port)) problems.push(`kafka: advertised listener ${listener[0]} is ${host}:${listener[1].port}, ${name} uses KAFKA_BROKERS=${broker}`);
      else if (bound.get(listener[0])?.port !== Number(port)) problems.push(`kafka: listener ${listener[0]} binds port ${bound.get(listener[0])?.port}, advertised as ${listener[1].port}`);
    }
  }
  // The host reaches localhost:<published> which must lead to the listener advertising it.
  const hostListener = [...advertised.entries()].find(([, a]) => a.host === 'localhost' || a.host === '127.0.0.1');
  if (!hostListener) problems.push('kafka: no advertised listener for the host (localhost)');
  else {
    const containerPort = bound.get(hostListener[0])?.port;
    if (!kafka.ports.some((p) => p.host === hostListener[1].port && p.container === containerPort)) {
      problems.push(`kafka.ports: host port ${hostListener[1].port} must map to container port ${containerPort} (listener ${hostListener[0]})`);
    }
  }
  for (const key of ['KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR', 'KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR', 'KAFKA_TRANSACTION_STATE_LOG_MIN_ISR', 'KAFKA_SHARE_COORDINATOR_STATE_TOPIC_REPLICATION_FACTOR', 'KAFKA_SHARE_COORDINATOR_STATE_TOPIC_MIN_ISR']) {
    if (env[key] !== '1') problems.push(`kafka.environment: ${key} must be 1 on a single broker (is ${env[key] ?? 'unset, default 3'})`);
  }
  if (!/\bbroker\b/.test(env.KAFKA_PROCESS_ROLES ?? '') || !/\bcontroller\b/.test(env.KAFKA_PROCESS_ROLES ?? '')) problems.push('kafka.environment: KAFKA_PROCESS_ROLES must be broker,controller');
  const voter = /^(\d+)@([^:]+):(\d+)$/.exec(env.KAFKA_CONTROLLER_QUORUM_VOTERS ?? '');
  const controller = bound.get(env.KAFKA_CONTROLLER_LISTENER_NAMES ?? '');
  if (!voter || voter[1] !== env.KAFKA_NODE_ID || Number(voter[3]) !== controller?.port) problems.push('kafka.environment: KAFKA_CONTROLLER_QUORUM_VOTERS must be <KAFKA_NODE_ID>@kafka:<controller listener port>');
  if (env.CLUSTER_ID !== undefined && Buffer.from(env.CLUSTER_ID, 'base64url').length !== 16) problems.push('kafka.environment: CLUSTER_ID must be a base64url UUID (16 bytes, 22 characters)');
  if (!/kafka-(broker-api-versions|topics)\.sh/.test(healthcheckText(kafka.healthcheck))) problems.push('kafka.healthcheck: use kafka-broker-api-versions.sh or kafka-topics.sh');
  return problems;
};

function pinProblem(where: string, image: string): string | undefined {
  if (/@sha256:[0-9a-f]{64}$/.test(image)) return undefined;
  const lastSegment = image.split('/').at(-1)!;
  const tag = lastSegment.includes(':') ? lastSegment.split(':').at(-1)! : undefined;
  if (!tag) return `${where}: image ${image} has no tag`;
  if (tag === 'latest') return `${where}: image ${image} uses "latest"`;
  return undefined;
}

const checkImagesPinned: Check = (stack) => {
  const problems: string[] = [];
  for (const [name, service] of Object.entries(stack.services)) {
    if (!service.image && service.build === undefined) problems.push(`${name}: neither image nor build`);
    if (service.image) {
      const p = pinProblem(name, service.image);
      if (p) problems.push(p);
    }
  }
  for (const [name, service] of appServices(stack)) {
    if (service.image !== `insight-logs:${stack.packageJson.version}`) problems.push(`${name}: our image should be tagged insight-logs:${stack.packageJson.version} (package.json version), is ${service.image}`);
  }
  const stageNames = new Set(stack.stages.map((s) => s.name).filter(Boolean));
  for (const stage of stack.stages) {
    if (stageNames.has(stage.from)) continue;
    const p = pinProblem(`Dockerfile FROM`, stage.from);
    if (p) problems.push(p);
  }
  return problems;
};

const checkEventHubs: Check = (stack, code) => {
  const problems: string[] = [];
  const namespaces = stack.hubConfig?.UserConfig?.NamespaceConfig ?? [];
  // The emulator accepts exactly one namespace, named emulatorNs1 (its Config-schema.json).
  if (namespaces.length !== 1 || namespaces[0].Name !== 'emulatorNs1' || namespaces[0].Type !== 'EventHub') problems.push(`${HUB_CONFIG}: one namespace, Type EventHub, Name emulatorNs1`);
  if (!stack.hubConfig?.UserConfig?.LoggingConfig?.Type) problems.push(`${HUB_CONFIG}: UserConfig.LoggingConfig.Type is required`);
  const entities: any[] = namespaces.flatMap((n: any) => n.Entities ?? []);
  const hubs = entities.map((e) => e.Name).sort();
  if (JSON.stringify(hubs) !== JSON.stringify(code.hubs)) problems.push(`${HUB_CONFIG}: hubs ${hubs.join(', ')}; the code sends to ${code.hubs.join(', ')}`);
  if (JSON.stringify(code.sinkDefaultHubs) !== JSON.stringify(code.hubs)) problems.push(`eventhubs sink: default hubs ${code.sinkDefaultHubs.join(', ')} differ from the design's ${code.hubs.join(', ')}`);
  if (JSON.stringify(code.sinkDefaultContainers) !== JSON.stringify(code.hubs)) problems.push(`blob sink: default containers ${code.sinkDefaultContainers.join(', ')} differ from the design's ${code.hubs.join(', ')}`);
  for (const e of entities) {
    if (typeof e.PartitionCount !== 'string' || !/^\d+$/.test(e.PartitionCount) || Number(e.PartitionCount) < 1 || Number(e.PartitionCount) > 32) problems.push(`${HUB_CONFIG}: ${e.Name}.PartitionCount must be a string "1".."32"`);
    // $default always exists; declaring it makes the emulator reject the config.
    for (const cg of e.ConsumerGroups ?? []) if (String(cg.Name).toLowerCase() === '$default') problems.push(`${HUB_CONFIG}: ${e.Name} declares $default (it exists already; the emulator refuses it)`);
  }
  for (const d of destinationEntries(stack)) {
    if (d.type === 'eventhubs' && d.hubs !== undefined) problems.push(`${DESTINATIONS}: ${String(d.name)} overrides hubs; the emulator only has ${code.hubs.join(', ')}`);
    if (d.type === 'blob' && d.containers !== undefined) problems.push(`${DESTINATIONS}: ${String(d.name)} overrides containers; the design's are ${code.hubs.join(', ')}`);
  }

  const emulator = Object.entries(stack.services).find(([, s]) => s.image?.startsWith('mcr.microsoft.com/azure-messaging/eventhubs-emulator'));
  if (!emulator) return [...problems, 'compose: no Event Hubs emulator service'];
  const [emulatorName, eh] = emulator;
  if (eh.environment.ACCEPT_EULA !== 'Y') problems.push(`${emulatorName}.environment: ACCEPT_EULA must be "Y"`);
  for (const key of ['BLOB_SERVER', 'METADATA_SERVER']) {
    const target = eh.environment[key];
    if (!target || !stack.services[target]?.image?.includes('azurite')) problems.push(`${emulatorName}.environment: ${key} must name the emulator's Azurite service (is ${target ?? 'unset'})`);
  }
  if (!eh.volumes.some((v) => v.split(':')[0]!.replace(/^\.\//, '') === HUB_CONFIG && v.split(':')[1] === HUB_CONFIG_IN_CONTAINER)) problems.push(`${emulatorName}.volumes: mount ./${HUB_CONFIG} at ${HUB_CONFIG_IN_CONTAINER}`);

  const conn = stack.services.forwarder?.environment.EVENTHUBS_CONNECTION_STRING ?? '';
  const endpoint = /Endpoint=sb:\/\/([^;:/]+)/.exec(conn)?.[1];
  if (endpoint !== emulatorName) problems.push(`forwarder.environment.EVENTHUBS_CONNECTION_STRING: Endpoint host ${endpoint} is not the emulator service ${emulatorName}`);
  if (!/UseDevelopmentEmulator=true/.test(conn)) problems.push('forwarder.environment.EVENTHUBS_CONNECTION_STRING: needs UseDevelopmentEmulator=true (plain AMQP)');

  const blob = /BlobEndpoint=http:\/\/([^:/;]+):(\d+)\/devstoreaccount1/.exec(stack.services.forwarder?.environment.AZURE_STORAGE_CONNECTION_STRING ?? '');
  const azurite = blob ? stack.services[blob[1]!] : undefined;
  if (!blob || !azurite) problems.push('forwarder.environment.AZURE_STORAGE_CONNECTION_STRING: BlobEndpoint must be http://<azurite service>:<port>/devstoreaccount1');
  else if (flagValue(azurite.command, '--blobPort') !== blob[2]) problems.push(`forwarder.environment.AZURE_STORAGE_CONNECTION_STRING: port ${blob[2]} is not ${blob[1]}'s --blobPort`);
  else if (!azurite.command?.includes('--skipApiVersionCheck')) problems.push(`${blob[1]}.command: --skipApiVersionCheck is needed (the SDK sends a newer API version)`);
  return problems;
};

const checkDependsOn: Check = (stack) => {
  const problems: string[] = [];
  for (const [name, service] of Object.entries(stack.services)) {
    for (const [target, condition] of Object.entries(service.dependsOn)) {
      const t = stack.services[target];
      if (!t) { problems.push(`${name}.depends_on: ${target} is not a service`); continue; }
      if (condition === 'service_healthy' && (!t.healthcheck?.test || t.healthcheck.disable)) problems.push(`${name}.depends_on: ${target} is awaited as service_healthy but has no healthcheck`);
      if (condition === 'service_completed_successfully' && t.restart !== 'no') problems.push(`${name}.depends_on: ${target} is awaited to complete but restart is ${t.restart ?? 'unset'} (want "no")`);
      if (!['service_started', 'service_healthy', 'service_completed_successfully'].includes(condition)) problems.push(`${name}.depends_on: ${target} has unknown condition ${condition}`);
    }
  }
  // One-shot and non-forward commands do not serve /healthz: the image's probe must be off for them.
  for (const [name, service] of appServices(stack)) {
    const command = service.entrypoint ? 'custom' : (service.command?.[0] ?? 'forward');
    if (command !== 'forward' && !service.healthcheck?.disable) problems.push(`${name}: runs "${command}", which serves no /healthz; set healthcheck.disable`);
  }
  return problems;
};

const checkDockerfile: Check = (stack) => {
  const problems: string[] = [];
  const runtime = runtimeStage(stack);
  if (!runtime || stack.stages.length < 2) return ['Dockerfile: needs a build stage and a runtime stage'];
  const user = instructions(runtime, 'USER').at(-1);
  if (!user || /^(root|0)(:|$)/.test(user)) problems.push(`Dockerfile runtime stage: USER ${user ?? '(none)'}; run as a non-root user`);
  const runs = instructions(runtime, 'RUN').join('\n');
  if (!/npm ci\b[^\n]*--omit=dev/.test(runs)) problems.push('Dockerfile runtime stage: install with npm ci --omit=dev');
  for (const copy of instructions(runtime, 'COPY')) {
    if (/--from=/.test(copy) && /node_modules/.test(copy)) problems.push(`Dockerfile runtime stage: COPY ${copy} brings the build stage's dev dependencies`);
  }
  const bin = Object.values(stack.packageJson.bin)[0];
  const entrypoint = instructions(runtime, 'ENTRYPOINT').at(-1) ?? '';
  if (!bin || !entrypoint.includes(bin)) problems.push(`Dockerfile: ENTRYPOINT ${entrypoint} does not run package.json's bin ${bin}`);
  if (!instructions(runtime, 'COPY').some((c) => /\bschemas\b/.test(c))) problems.push('Dockerfile runtime stage: schemas/ is read at run time and must be copied');
  return problems;
};

/** `./host/path:/container/path[:ro]` mounts of a service as [host path without ./, container path]. */
function mounts(service: Service | undefined): [string, string][] {
  return (service?.volumes ?? []).map((v) => v.split(':')).map(([host, container]) => [host!.replace(/^\.\//, ''), container!]);
}

/** The repository path mounted at `containerPath` (a file, or under a mounted folder), or undefined. */
function hostPathOf(service: Service | undefined, containerPath: string): string | undefined {
  for (const [host, container] of mounts(service)) {
    if (containerPath === container) return host;
    if (containerPath.startsWith(`${container}/`)) return `${host}${containerPath.slice(container.length)}`;
  }
  return undefined;
}

const checkObservability: Check = (stack) => {
  const problems: string[] = [];
  const { prometheus: promConfig, rules, datasources, dashboardProviders, dashboards } = stack.observability;
  const prometheus = stack.services.prometheus;
  const grafana = stack.services.grafana;
  if (!prometheus || !grafana) return ['compose: the observability profile needs a "prometheus" and a "grafana" service'];
  for (const [name, service] of Object.entries(stack.services)) {
    const wanted = name === 'prometheus' || name === 'grafana';
    if (wanted && !service.profiles.includes('observability')) problems.push(`${name}.profiles: must include "observability" (docker compose --profile observability up)`);
    if (!wanted && service.profiles.length) problems.push(`${name}.profiles: ${service.profiles.join(', ')}; the core stack must start without a profile`);
  }
  const configFlag = prometheus.command?.find((a) => a.startsWith('--config.file='))?.split('=')[1] ?? '/etc/prometheus/prometheus.yml';
  if (hostPathOf(prometheus, configFlag) !== PROMETHEUS_CONFIG) problems.push(`prometheus.volumes: ${configFlag} (--config.file) must be ./${PROMETHEUS_CONFIG}`);
  for (const file of (promConfig?.rule_files ?? []) as string[]) {
    if (hostPathOf(prometheus, file) !== RULES) problems.push(`${PROMETHEUS_CONFIG}: rule file ${file} is not ./${RULES} mounted into prometheus`);
  }
  if (!(promConfig?.rule_files ?? []).length) problems.push(`${PROMETHEUS_CONFIG}: no rule_files (the alerts would never be evaluated)`);
  // Each scrape job the rules name must scrape the compose service serving that metrics port.
  const jobs = new Map<string, string[]>(((promConfig?.scrape_configs ?? []) as any[]).map((j) => [j.job_name, (j.static_configs ?? []).flatMap((c: any) => c.targets ?? [])]));
  const expected: [string, string][] = [['insight-logs-forwarder', 'forwarder'], ['insight-logs-producer', 'simulator']];
  for (const [job, serviceName] of expected) {
    const service = stack.services[serviceName];
    const port = flagValue(service?.command, '--metrics-port');
    if (!port) { problems.push(`${serviceName}.command: no --metrics-port for Prometheus job ${job}`); continue; }
    if (flagValue(service?.command, '--metrics-host') !== '0.0.0.0') problems.push(`${serviceName}.command: --metrics-host 0.0.0.0 is needed for Prometheus to reach it`);
    const targets = jobs.get(job);
    if (!targets) problems.push(`${PROMETHEUS_CONFIG}: no scrape job ${job}`);
    else if (!targets.includes(`${serviceName}:${port}`)) problems.push(`${PROMETHEUS_CONFIG}: job ${job} scrapes ${targets.join(', ')}; ${serviceName} serves metrics on ${serviceName}:${port}`);
  }
  for (const m of rules.matchAll(/job="([^"]+)"/g)) if (!jobs.has(m[1]!)) problems.push(`${RULES}: job "${m[1]}" is not a scrape job in ${PROMETHEUS_CONFIG}`);
  // Grafana: provisioning and dashboards mounted, the data source pointing at the prometheus service.
  const provisioning = hostPathOf(grafana, '/etc/grafana/provisioning');
  if (provisioning !== `${GRAFANA}/provisioning`) problems.push(`grafana.volumes: /etc/grafana/provisioning must be ./${GRAFANA}/provisioning`);
  for (const provider of (dashboardProviders?.providers ?? []) as any[]) {
    if (hostPathOf(grafana, provider.options?.path ?? '') !== `${GRAFANA}/dashboards`) problems.push(`grafana: dashboards provider path ${provider.options?.path} is not ./${GRAFANA}/dashboards mounted`);
  }
  const source = ((datasources?.datasources ?? []) as any[]).find((d) => d.type === 'prometheus');
  const url = /^http:\/\/([^:/]+):(\d+)/.exec(source?.url ?? '');
  const promPort = prometheus.ports[0]?.container ?? 9090;
  if (!url || !stack.services[url[1]!] || url[1] !== 'prometheus' || Number(url[2]) !== promPort) problems.push(`grafana data source: url ${source?.url} is not http://prometheus:${promPort}`);
  for (const dashboard of dashboards) {
    const uids = new Set<string>();
    const visit = (v: unknown): void => {
      if (Array.isArray(v)) v.forEach(visit);
      else if (v && typeof v === 'object') {
        const o = v as Record<string, unknown>;
        if (o.datasource && typeof o.datasource === 'object') uids.add(String((o.datasource as { uid?: unknown }).uid));
        Object.values(o).forEach(visit);
      }
    };
    visit(dashboard);
    for (const uid of uids) if (uid !== source?.uid) problems.push(`dashboard ${dashboard.uid}: data source uid ${uid} is not the provisioned ${source?.uid}`);
  }
  return problems;
};

const CHECKS: Record<string, Check> = {
  environment: checkEnvironment,
  'metrics ports': checkMetricsPorts,
  kafka: checkKafka,
  'image pins': checkImagesPinned,
  'event hubs': checkEventHubs,
  'depends_on': checkDependsOn,
  dockerfile: checkDockerfile,
  observability: checkObservability,
};

function allProblems(stack: Stack, code: CodeFacts): string[] {
  return Object.values(CHECKS).flatMap((check) => check(stack, code));
}

// ---- tests --------------------------------------------------------------------------------

const root = packageRoot();
const code = codeFacts(root);
const stack = loadStack(root);

describe('docker-compose.yml, Dockerfile and docker/ agree with the code', () => {
  test('the source scan finds the variables the forwarder reads', () => {
    // Guards the scan itself: if it found nothing, the environment check would prove nothing.
    for (const name of ['KAFKA_BROKERS', 'LOG_LEVEL', 'KAFKA_SASL_MECHANISM']) assert.ok(code.envRead.has(name), `${name} not found in src/`);
  });

  for (const [name, check] of Object.entries(CHECKS)) {
    test(name, () => {
      assert.deepEqual(check(stack, code), []);
    });
  }

  test('the destinations file is valid for the sink types that exist', () => {
    const registry = defaultSinkRegistry();
    const entries = destinationEntries(stack);
    assert.ok(entries.some((d) => d.type === 'blob') && entries.some((d) => d.type === 'eventhubs'), 'a blob and an eventhubs destination');
    const known = entries.filter((d) => registry.has(String(d.type)));
    const parsed = parseDestinationsText(JSON.stringify({ destinations: known }), DESTINATIONS, registry);
    assert.equal(parsed.length, known.length);
    const missing = entries.filter((d) => !registry.has(String(d.type))).map((d) => String(d.type));
    assert.deepEqual(missing, [], 'every destination type in the file is registered');
  });

  test('the commands and flags the compose file and init.sh run exist in the CLI', () => {
    const program = new Command('insight-logs');
    for (const module of commandModules) module.register(program);
    const find = (words: string[]): Command | undefined =>
      words.reduce<Command | undefined>((cmd, word) => cmd?.commands.find((c) => c.name() === word), program);
    const initScript = readFileSync(join(root, 'docker/init.sh'), 'utf8');
    const invocations: [string, string[]][] = [
      ...appServices(stack).filter(([, s]) => !s.entrypoint && s.command).map(([name, s]): [string, string[]] => [name, s.command!]),
      ...[...initScript.matchAll(/main\.js ([^\n]+)/g)].map((m): [string, string[]] => ['docker/init.sh', m[1]!.trim().split(/\s+/)]),
    ];
    assert.ok(invocations.length >= 4, 'forwarder, simulator and the two init commands');
    const notYet: string[] = [];
    for (const [where, args] of invocations) {
      const words = args.filter((a) => !a.startsWith('-'));
      // The longest prefix of words that names a (sub)command.
      let cmd: Command | undefined;
      for (let n = words.length; n > 0 && !cmd; n--) cmd = find(words.slice(0, n));
      if (!cmd) { notYet.push(`${where}: ${args.join(' ')}`); continue; }
      for (const flag of args.filter((a) => a.startsWith('--'))) {
        assert.ok(cmd.options.some((o) => o.long === flag.split('=')[0]), `${where}: ${cmd.name()} has no option ${flag}`);
      }
    }
    assert.deepEqual(notYet, [], 'every command the stack runs exists in the CLI');
  });

  test('tests use the same Event Hubs emulator image as the compose file', () => {
    const emulator = Object.values(stack.services).map((s) => s.image).find((i) => i?.includes('eventhubs-emulator'));
    assert.equal(EMULATOR_IMAGE, emulator);
  });
});

describe('each check fails on a broken copy', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'insight-logs-compose-'));
  });
  after(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  /** Copies the files under test into a fresh folder, applies `edit` to one of them, and loads it. */
  function brokenStack(file: string, from: string | RegExp, to: string): Stack {
    const copy = mkdtempSync(join(dir, 'case-'));
    for (const f of [COMPOSE, DOCKERFILE, 'package.json']) cpSync(join(root, f), join(copy, f));
    mkdirSync(join(copy, 'docker'));
    cpSync(join(root, 'docker'), join(copy, 'docker'), { recursive: true });
    cpSync(join(root, OBSERVABILITY), join(copy, OBSERVABILITY), { recursive: true });
    const original = readFileSync(join(copy, file), 'utf8');
    const edited = original.replace(from, to);
    assert.notEqual(edited, original, `the edit of ${file} must change something (${String(from)})`);
    writeFileSync(join(copy, file), edited);
    return loadStack(copy);
  }

  const cases: { what: string; file: string; from: string | RegExp; to: string; expect: RegExp }[] = [
    { what: 'an image on latest', file: COMPOSE, from: 'apache/kafka:4.1.1', to: 'apache/kafka:latest', expect: /kafka: image apache\/kafka:latest uses "latest"/ },
    { what: 'an image without a tag', file: COMPOSE, from: 'eventhubs-emulator:2.1.0', to: 'eventhubs-emulator', expect: /has no tag/ },
    { what: 'a Dockerfile base on latest', file: DOCKERFILE, from: /FROM node:\S+ AS runtime/, to: 'FROM node:latest AS runtime', expect: /Dockerfile FROM: image node:latest/ },
    { what: 'KAFKA_BROKERS missing in the forwarder', file: COMPOSE, from: /(forwarder:[\s\S]*?environment:\n)\s+KAFKA_BROKERS: kafka:9092\n/, to: '$1', expect: /forwarder.environment: KAFKA_BROKERS is needed/ },
    { what: 'a misspelt variable', file: COMPOSE, from: '      LOG_LEVEL: info\n    ports:', to: '      LOGLEVEL: info\n    ports:', expect: /LOGLEVEL is set but nothing/ },
    { what: 'a destination credential the forwarder lacks', file: DESTINATIONS, from: 'EVENTHUBS_CONNECTION_STRING', to: 'HUB_CONNECTION_STRING', expect: /HUB_CONNECTION_STRING is needed/ },
    { what: 'a metrics port mismatch', file: COMPOSE, from: '"9464:9464"', to: '"9464:9465"', expect: /container port 9464 \(--metrics-port\) is not published/ },
    { what: 'a Dockerfile healthcheck on another port', file: DOCKERFILE, from: '127.0.0.1:9464/healthz', to: '127.0.0.1:8080/healthz', expect: /Dockerfile HEALTHCHECK: probes port 8080/ },
    { what: 'metrics bound to loopback', file: COMPOSE, from: ', "--metrics-host", "0.0.0.0"', to: '', expect: /--metrics-host 0.0.0.0 is needed/ },
    { what: 'an advertised port clients do not use', file: COMPOSE, from: 'PLAINTEXT://kafka:9092,', to: 'PLAINTEXT://kafka:19092,', expect: /advertised listener PLAINTEXT is kafka:19092/ },
    { what: 'the host port mapped to the wrong listener', file: COMPOSE, from: '"9092:29092"', to: '"9092:9092"', expect: /host port 9092 must map to container port 29092/ },
    { what: 'replication factor left at 3', file: COMPOSE, from: 'KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR: 1', to: 'KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR: 3', expect: /OFFSETS_TOPIC_REPLICATION_FACTOR must be 1/ },
    { what: 'a renamed hub', file: HUB_CONFIG, from: '"insight-logs-audit"', to: '"insight-logs-audits"', expect: /hubs insight-logs-audits, insight-logs-operational; the code sends to/ },
    { what: 'a declared $default consumer group', file: HUB_CONFIG, from: '"insight-logs-check"', to: '"$Default"', expect: /declares \$default/ },
    { what: 'a blob destination writing to other containers', file: DESTINATIONS, from: 'connectionStringEnv: AZURE_STORAGE_CONNECTION_STRING', to: 'connectionStringEnv: AZURE_STORAGE_CONNECTION_STRING\n    containers: { audit: other-audit }', expect: /archive overrides containers/ },
    { what: 'the EULA not accepted', file: COMPOSE, from: 'ACCEPT_EULA: "Y"', to: 'ACCEPT_EULA: "N"', expect: /ACCEPT_EULA must be "Y"/ },
    { what: 'the emulator config mounted elsewhere', file: COMPOSE, from: ':/Eventhubs_Emulator/ConfigFiles/Config.json', to: ':/config/Config.json', expect: /volumes: mount/ },
    { what: 'a depends_on target that does not exist', file: COMPOSE, from: /(simulator:[\s\S]*?depends_on:\n\s+)init:/, to: '$1setup:', expect: /simulator.depends_on: setup is not a service/ },
    { what: 'service_healthy on a service without healthcheck', file: COMPOSE, from: /(eventhubs:\n\s+condition: )service_started/, to: '$1service_healthy', expect: /eventhubs is awaited as service_healthy but has no healthcheck/ },
    { what: 'a one-shot service that restarts', file: COMPOSE, from: /(init:[\s\S]*?restart: )"no"/, to: '$1unless-stopped', expect: /init is awaited to complete but restart is unless-stopped/ },
    { what: 'the runtime stage running as root', file: DOCKERFILE, from: 'USER node', to: 'USER root', expect: /USER root; run as a non-root user/ },
    { what: 'dev dependencies in the runtime stage', file: DOCKERFILE, from: 'npm ci --omit=dev', to: 'npm ci', expect: /install with npm ci --omit=dev/ },
    { what: 'Prometheus outside the observability profile', file: COMPOSE, from: /(prometheus:\n[^\n]*\n)\s+profiles: \["observability"\]\n/, to: '$1', expect: /prometheus.profiles: must include "observability"/ },
    { what: 'a core service put in a profile', file: COMPOSE, from: /(\n {2}forwarder:\n)/, to: '$1    profiles: ["observability"]\n', expect: /forwarder.profiles: observability; the core stack must start without a profile/ },
    { what: 'Prometheus scraping the wrong forwarder port', file: PROMETHEUS_CONFIG, from: "'forwarder:9464'", to: "'forwarder:9100'", expect: /job insight-logs-forwarder scrapes forwarder:9100; forwarder serves metrics on forwarder:9464/ },
    { what: 'the simulator not serving producer metrics', file: COMPOSE, from: ', "--metrics-port", "9465", "--metrics-host", "0.0.0.0"', to: '', expect: /simulator.command: no --metrics-port for Prometheus job insight-logs-producer/ },
    { what: 'the rules not mounted', file: COMPOSE, from: /\n\s+- \.\/deploy\/observability\/insight-logs\.rules\.yml:[^\n]+/, to: '', expect: /rule file \/etc\/prometheus\/insight-logs.rules.yml is not/ },
    { what: 'a rule naming a job Prometheus does not scrape', file: RULES, from: 'up{job="insight-logs-forwarder"}', to: 'up{job="forwarder"}', expect: /job "forwarder" is not a scrape job/ },
    { what: 'Grafana pointing at another Prometheus', file: `${GRAFANA}/provisioning/datasources/prometheus.yml`, from: 'http://prometheus:9090', to: 'http://localhost:9090', expect: /grafana data source: url http:\/\/localhost:9090/ },
    { what: 'a dashboard on an unknown data source', file: `${GRAFANA}/dashboards/insight-logs.json`, from: /"uid": "insight-logs-prometheus"/, to: '"uid": "other"', expect: /data source uid other is not the provisioned/ },
    { what: 'node_modules copied from the build stage', file: DOCKERFILE, from: 'COPY --from=build /app/dist/src ./dist/src', to: 'COPY --from=build /app/dist/src ./dist/src\nCOPY --from=build /app/node_modules ./node_modules', expect: /brings the build stage's dev dependencies/ },
  ];

  for (const c of cases) {
    test(c.what, () => {
      const problems = allProblems(brokenStack(c.file, c.from, c.to), code);
      assert.ok(problems.some((p) => c.expect.test(p)), `expected a problem matching ${c.expect}, got:\n${problems.join('\n') || '(none)'}`);
    });
  }
});
