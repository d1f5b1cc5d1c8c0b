// Offline validation of the Kubernetes manifests in infra/ (no cluster): each overlay is rendered with
// `kubectl kustomize`, every object is validated against the Kubernetes OpenAPI schemas (kubernetes-models),
// and the properties a production deployment needs are checked on the rendered objects: replicas, resources, probes and the
// restricted security context of every pod; an HPA, a PDB and a migration Job per service; the NetworkPolicies
// (evaluated, not just listed: who can open a connection to whom, on which port); the services' own config
// checks run on the rendered ConfigMaps and Secrets; and per overlay, dev's in-cluster PostgreSQL and Redis,
// production's TLS, https URLs and absence of Secrets. Each check returns its problems as strings, so the last
// subtest can feed it broken manifests and see it fail.
// Without kubectl the test is skipped with the reason — except in CI, which sets QUARTET_KUBECTL and must run it.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { randomBytes } from 'node:crypto';
import t from 'tap';
import { parseAllDocuments } from 'yaml';
import * as models from 'kubernetes-models';
import type { IPodTemplateSpec } from 'kubernetes-models/v1/PodTemplateSpec';
import type { IContainer } from 'kubernetes-models/v1/Container';
import type { IDeployment } from 'kubernetes-models/apps/v1/Deployment';
import type { IJob } from 'kubernetes-models/batch/v1/Job';
import type { INetworkPolicy } from 'kubernetes-models/networking.k8s.io/v1/NetworkPolicy';
import type { INetworkPolicyPeer } from 'kubernetes-models/networking.k8s.io/v1/NetworkPolicyPeer';
import type { INetworkPolicyPort } from 'kubernetes-models/networking.k8s.io/v1/NetworkPolicyPort';
import type { IIngress } from 'kubernetes-models/networking.k8s.io/v1/Ingress';
import type { IHorizontalPodAutoscaler } from 'kubernetes-models/autoscaling/v2/HorizontalPodAutoscaler';
import type { IPodDisruptionBudget } from 'kubernetes-models/policy/v1/PodDisruptionBudget';
import type { IService } from 'kubernetes-models/v1/Service';
import type { IConfigMap } from 'kubernetes-models/v1/ConfigMap';
import type { ISecret } from 'kubernetes-models/v1/Secret';
import type { ILabelSelector } from '@kubernetes-models/apimachinery/apis/meta/v1/LabelSelector';
import { root } from './support/processes.js';

const NAMESPACE = 'quartet';
const SERVICES = { 'authorization-server': 9000, 'resource-server': 9100, 'client-app': 3000 } as const;
type ServiceName = keyof typeof SERVICES;
const SERVICE_NAMES = Object.keys(SERVICES) as ServiceName[];
const MIGRATED: ServiceName[] = ['authorization-server', 'resource-server'];

function findKubectl(): { path?: string; required: boolean } {
  const configured = process.env.QUARTET_KUBECTL;
  if (configured) return { path: existsSync(configured) ? configured : undefined, required: true };
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (dir && existsSync(join(dir, 'kubectl'))) return { path: join(dir, 'kubectl'), required: false };
  }
  return { required: false };
}

interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  [field: string]: unknown;
}

function parseYaml(text: string, source: string): K8sObject[] {
  return parseAllDocuments(text).flatMap((doc) => {
    if (doc.errors.length > 0) throw new Error(`${source}: ${doc.errors.map((e) => e.message).join('; ')}`);
    const value = doc.toJS() as K8sObject | null;
    return value ? [value] : [];
  });
}

function render(kubectl: string, overlay: string): K8sObject[] {
  const result = spawnSync(kubectl, ['kustomize', join(root, 'infra/overlays', overlay)], { encoding: 'utf8' });
  if (result.status !== 0)
    throw new Error(`kubectl kustomize infra/overlays/${overlay} failed: ${result.stderr || result.error?.message}`);
  const objects = parseYaml(result.stdout, overlay);
  // Kustomize wraps generated Secrets' base64 at 70 columns; the API server's decoder skips those newlines,
  // the schema's "byte" format does not.
  for (const o of objects) {
    if (o.kind === 'Secret' && o.data)
      o.data = Object.fromEntries(
        Object.entries(o.data as Record<string, string>).map(([k, v]) => [k, v.replace(/\n/g, '')]),
      );
  }
  return objects;
}

// ---- schema validation -------------------------------------------------------------------------------------

type ModelClass = new (data: unknown) => { validate(): void };
/** The kubernetes-models class for an apiVersion/kind: `apps/v1` → models.apps.v1, `networking.k8s.io/v1` → models.networkingK8sIo.v1. */
function modelFor(apiVersion: string, kind: string): ModelClass | undefined {
  const [group, version] = apiVersion.includes('/') ? apiVersion.split('/') : ['v1', undefined];
  const groupKey = group!.replace(/\.(\w)/g, (_, c: string) => c.toUpperCase());
  const groupModule = (models as unknown as Record<string, Record<string, unknown>>)[groupKey];
  const versionModule = (version ? groupModule?.[version] : groupModule) as Record<string, unknown> | undefined;
  return versionModule?.[kind] as ModelClass | undefined;
}

export function schemaProblems(objects: K8sObject[]): string[] {
  const problems: string[] = [];
  for (const object of objects) {
    const id = `${object.kind}/${object.metadata?.name}`;
    const Model = modelFor(object.apiVersion, object.kind);
    if (!Model) {
      problems.push(`${id}: no schema for ${object.apiVersion} ${object.kind}`);
      continue;
    }
    try {
      new Model(object).validate();
    } catch (err) {
      problems.push(`${id}: ${(err as Error).message}`);
    }
  }
  return problems;
}

// ---- helpers over the rendered objects -----------------------------------------------------------------------

const ofKind = <T>(objects: K8sObject[], kind: string) =>
  objects.filter((o) => o.kind === kind) as unknown as (T & K8sObject)[];
const named = <T>(objects: K8sObject[], kind: string, name: string) =>
  ofKind<T>(objects, kind).find((o) => o.metadata.name === name);
/** A generated ConfigMap/Secret is named `<name>-<hash>`. */
const generated = <T>(objects: K8sObject[], kind: string, name: string) =>
  ofKind<T>(objects, kind).find(
    (o) => o.metadata.name === name || new RegExp(`^${name}-[a-z0-9]{10}$`).test(o.metadata.name),
  );

interface Workload {
  kind: string;
  name: string;
  labels: Record<string, string>;
  template: IPodTemplateSpec;
}
function workloads(objects: K8sObject[]): Workload[] {
  return objects.flatMap((o) => {
    if (!['Deployment', 'StatefulSet', 'Job'].includes(o.kind)) return [];
    const template = (o.spec as { template: IPodTemplateSpec }).template;
    return [{ kind: o.kind, name: o.metadata.name, labels: template.metadata?.labels ?? {}, template }];
  });
}

function configData(objects: K8sObject[], name: string): Record<string, string> {
  return generated<IConfigMap>(objects, 'ConfigMap', name)?.data ?? {};
}

// ---- pods: resources, probes, security ------------------------------------------------------------------------

/** The restricted Pod Security Standard (the namespace enforces it) plus our own rules, for every pod. */
export function podProblems(objects: K8sObject[]): string[] {
  const problems: string[] = [];
  for (const w of workloads(objects)) {
    const spec = w.template.spec!;
    const pod = spec.securityContext ?? {};
    const where = `${w.kind}/${w.name}`;
    if (spec.automountServiceAccountToken !== false)
      problems.push(`${where}: automountServiceAccountToken is not false`);
    if (spec.hostNetwork || spec.hostPID || spec.hostIPC) problems.push(`${where}: uses host namespaces`);
    if (spec.volumes?.some((v) => v.hostPath)) problems.push(`${where}: mounts a hostPath`);
    for (const c of [...(spec.initContainers ?? []), ...spec.containers]) {
      const at = `${where} container ${c.name}`;
      const sc = c.securityContext ?? {};
      if ((sc.runAsNonRoot ?? pod.runAsNonRoot) !== true) problems.push(`${at}: runAsNonRoot is not true`);
      const uid = sc.runAsUser ?? pod.runAsUser;
      if (uid === undefined || uid === 0) problems.push(`${at}: no non-zero runAsUser`);
      if (sc.readOnlyRootFilesystem !== true) problems.push(`${at}: readOnlyRootFilesystem is not true`);
      if (sc.allowPrivilegeEscalation !== false) problems.push(`${at}: allowPrivilegeEscalation is not false`);
      if (sc.privileged) problems.push(`${at}: privileged`);
      if (!sc.capabilities?.drop?.includes('ALL')) problems.push(`${at}: capabilities do not drop ALL`);
      if (sc.capabilities?.add?.length) problems.push(`${at}: adds capabilities`);
      if ((sc.seccompProfile ?? pod.seccompProfile)?.type !== 'RuntimeDefault')
        problems.push(`${at}: seccompProfile is not RuntimeDefault`);
      for (const kind of ['requests', 'limits'] as const) {
        for (const resource of ['cpu', 'memory']) {
          if (c.resources?.[kind]?.[resource] === undefined) problems.push(`${at}: no ${resource} ${kind}`);
        }
      }
    }
  }
  return problems;
}

function probeProblems(where: string, c: IContainer, port: number): string[] {
  const problems: string[] = [];
  const portOf = (p: number | string | undefined) =>
    typeof p === 'string' ? c.ports?.find((cp) => cp.name === p)?.containerPort : p;
  for (const [probe, path] of [
    ['readinessProbe', '/readyz'],
    ['livenessProbe', '/livez'],
  ] as const) {
    const get = c[probe]?.httpGet;
    if (!get) {
      problems.push(`${where}: no ${probe} with httpGet`);
      continue;
    }
    if (get.path !== path) problems.push(`${where}: ${probe} path ${get.path}, expected ${path}`);
    if (portOf(get.port) !== port) problems.push(`${where}: ${probe} port ${get.port} is not ${port}`);
    const { periodSeconds = 10, timeoutSeconds = 1, failureThreshold = 3 } = c[probe]!;
    if (timeoutSeconds >= periodSeconds)
      problems.push(`${where}: ${probe} timeout ${timeoutSeconds}s not below its period`);
    if (probe === 'livenessProbe' && failureThreshold * periodSeconds < 20)
      problems.push(`${where}: livenessProbe restarts after < 20 s`);
  }
  return problems;
}

/** The three service Deployments, their Service, HPA and PDB; the two migration Jobs. */
export function serviceProblems(objects: K8sObject[]): string[] {
  const problems: string[] = [];
  for (const name of SERVICE_NAMES) {
    const port = SERVICES[name];
    const d = named<IDeployment>(objects, 'Deployment', name);
    if (!d) {
      problems.push(`Deployment/${name} missing`);
      continue;
    }
    const spec = d.spec!;
    const podLabels = spec.template.metadata?.labels ?? {};
    if ((spec.replicas ?? 1) < 2) problems.push(`Deployment/${name}: ${spec.replicas ?? 1} replica(s), expected 2+`);
    if (!matches(spec.selector, podLabels)) problems.push(`Deployment/${name}: selector does not match its pods`);
    const container = spec.template.spec?.containers.find((c) => c.name === name);
    if (!container) {
      problems.push(`Deployment/${name}: no container ${name}`);
      continue;
    }
    if (!container.ports?.some((p) => p.containerPort === port && p.name === 'http'))
      problems.push(`Deployment/${name}: no port http ${port}`);
    problems.push(...probeProblems(`Deployment/${name}`, container, port));
    const pod = spec.template.spec?.securityContext;
    if ((container.securityContext?.runAsUser ?? pod?.runAsUser) !== 1000)
      problems.push(`Deployment/${name}: not running as uid 1000 (node)`);
    const tmp = container.volumeMounts?.find((m) => m.mountPath === '/tmp');
    if (!tmp || !spec.template.spec?.volumes?.find((v) => v.name === tmp.name)?.emptyDir)
      problems.push(`Deployment/${name}: no emptyDir at /tmp`);
    const envFrom = container.envFrom ?? [];
    if (!envFrom.some((e) => e.configMapRef?.name?.startsWith(`${name}-config`)))
      problems.push(`Deployment/${name}: does not read ${name}-config`);
    if (!envFrom.some((e) => e.secretRef?.name?.startsWith(`${name}-secrets`)))
      problems.push(`Deployment/${name}: does not read ${name}-secrets`);

    const svc = named<IService>(objects, 'Service', name);
    if (
      !svc ||
      !matches({ matchLabels: svc.spec?.selector }, podLabels) ||
      !svc.spec?.ports?.some((p) => p.targetPort === 'http')
    ) {
      problems.push(`Service/${name}: missing, or does not select the pods' http port`);
    }
    const hpa = ofKind<IHorizontalPodAutoscaler>(objects, 'HorizontalPodAutoscaler').find(
      (h) => h.spec?.scaleTargetRef.name === name,
    );
    if (!hpa || hpa.apiVersion !== 'autoscaling/v2' || hpa.spec?.scaleTargetRef.kind !== 'Deployment')
      problems.push(`HPA (autoscaling/v2) for Deployment/${name} missing`);
    else {
      if ((hpa.spec?.minReplicas ?? 1) < 2 || hpa.spec!.maxReplicas < (hpa.spec?.minReplicas ?? 1))
        problems.push(`HPA/${name}: bounds ${hpa.spec?.minReplicas}..${hpa.spec?.maxReplicas}`);
      if (!hpa.spec?.metrics?.some((m) => m.type === 'Resource' && m.resource?.name === 'cpu'))
        problems.push(`HPA/${name}: no CPU metric`);
    }
    const pdb = ofKind<IPodDisruptionBudget>(objects, 'PodDisruptionBudget').find((p) =>
      matches(p.spec?.selector, podLabels),
    );
    if (
      !pdb ||
      typeof pdb.spec?.minAvailable !== 'number' ||
      pdb.spec.minAvailable < 1 ||
      pdb.spec.minAvailable >= (spec.replicas ?? 1)
    ) {
      problems.push(`PDB for Deployment/${name}: missing, or minAvailable not between 1 and replicas - 1`);
    }
  }
  for (const name of MIGRATED) {
    const job = named<IJob>(objects, 'Job', `${name}-migrate`);
    const c = job?.spec?.template.spec?.containers[0];
    if (!job || !c) {
      problems.push(`Job/${name}-migrate missing`);
      continue;
    }
    // The service's own image and its offline migrator (no separate migrate image, no Prisma engine).
    const service = named<IDeployment>(objects, 'Deployment', name)?.spec?.template.spec?.containers.find(
      (x) => x.name === name,
    );
    if (!service || c.image !== service.image)
      problems.push(`Job/${name}-migrate: image ${c.image} is not the ${name} Deployment's image`);
    if (JSON.stringify(c.command) !== '["node","dist/migrate.mjs"]')
      problems.push(`Job/${name}-migrate: command ${JSON.stringify(c.command)} is not node dist/migrate.mjs`);
    const url = c.env?.find((e) => e.name === 'DATABASE_URL')?.valueFrom?.secretKeyRef;
    if (!url?.name?.startsWith(`${name}-secrets`) || url.key !== 'DATABASE_URL')
      problems.push(`Job/${name}-migrate: DATABASE_URL not from ${name}-secrets`);
    if (c.envFrom?.length)
      problems.push(`Job/${name}-migrate: takes whole Secrets/ConfigMaps (needs DATABASE_URL only)`);
  }
  return problems;
}

// ---- NetworkPolicies, evaluated -----------------------------------------------------------------------------

function matches(selector: ILabelSelector | undefined, labels: Record<string, string>): boolean {
  if (!selector) return false;
  for (const [k, v] of Object.entries(selector.matchLabels ?? {})) if (labels[k] !== v) return false;
  for (const e of selector.matchExpressions ?? []) {
    const has = e.key in labels;
    const value = labels[e.key];
    if (e.operator === 'In' && !(has && e.values?.includes(value!))) return false;
    if (e.operator === 'NotIn' && has && e.values?.includes(value!)) return false;
    if (e.operator === 'Exists' && !has) return false;
    if (e.operator === 'DoesNotExist' && has) return false;
  }
  return true;
}

/** A pod as a NetworkPolicy sees it; outside pods (ingress controller, DNS) are described the same way. */
interface Peer {
  name: string;
  namespace: string;
  labels: Record<string, string>;
  ports: Map<string, number>;
}
const INGRESS_CONTROLLER: Peer = {
  name: 'ingress-controller',
  namespace: 'ingress-nginx',
  ports: new Map([
    ['http', 80],
    ['https', 443],
  ]),
  labels: { 'app.kubernetes.io/name': 'ingress-nginx', 'app.kubernetes.io/component': 'controller' },
};
const CLUSTER_DNS: Peer = {
  name: 'cluster-dns',
  namespace: 'kube-system',
  labels: { 'k8s-app': 'kube-dns' },
  ports: new Map([['dns', 53]]),
};

function podsOf(objects: K8sObject[]): Peer[] {
  return workloads(objects).map((w) => ({
    name: w.labels['app.kubernetes.io/name'] ?? w.name,
    namespace: NAMESPACE,
    labels: w.labels,
    ports: new Map(
      w.template.spec!.containers.flatMap((c) =>
        (c.ports ?? []).map((p) => [p.name ?? String(p.containerPort), p.containerPort] as const),
      ),
    ),
  }));
}

function peerSelects(peer: INetworkPolicyPeer, pod: Peer): boolean {
  if (peer.ipBlock) return false;
  const namespaceOk = peer.namespaceSelector
    ? matches(peer.namespaceSelector, { 'kubernetes.io/metadata.name': pod.namespace })
    : pod.namespace === NAMESPACE;
  return namespaceOk && (peer.podSelector ? matches(peer.podSelector, pod.labels) : true);
}

function portAllowed(
  ports: INetworkPolicyPort[] | undefined,
  target: Peer | undefined,
  port: number,
  protocol: string,
): boolean {
  if (!ports || ports.length === 0) return true;
  return ports.some((p) => {
    if ((p.protocol ?? 'TCP') !== protocol) return false;
    if (p.port === undefined) return true;
    const number = typeof p.port === 'string' ? target?.ports.get(p.port) : p.port;
    return number !== undefined && port >= number && port <= (p.endPort ?? number);
  });
}

function cidrRange(cidr: string): [bigint, bigint] {
  const [address, bits] = cidr.split('/');
  const value = address!.split('.').reduce((acc, octet) => (acc << 8n) | BigInt(Number(octet)), 0n);
  const size = 1n << BigInt(32 - Number(bits));
  const start = value - (value % size);
  return [start, start + size - 1n];
}
const cidrWithin = (inner: string, outer: string) => {
  const [a, b] = cidrRange(inner);
  const [c, d] = cidrRange(outer);
  return a >= c && b <= d;
};
const cidrsOverlap = (x: string, y: string) => {
  const [a, b] = cidrRange(x);
  const [c, d] = cidrRange(y);
  return a <= d && c <= b;
};

type Destination = { pod: Peer } | { cidr: string };

class Policies {
  constructor(private readonly policies: (INetworkPolicy & K8sObject)[]) {}

  private selecting(pod: Peer, type: 'Ingress' | 'Egress') {
    if (pod.namespace !== NAMESPACE) return undefined; // other namespaces: not ours to judge (treated as open)
    return this.policies.filter(
      (p) => (p.spec?.policyTypes ?? ['Ingress']).includes(type) && matches(p.spec?.podSelector, pod.labels),
    );
  }

  ingressAllowed(to: Peer, from: Peer, port: number, protocol = 'TCP'): boolean {
    const policies = this.selecting(to, 'Ingress');
    if (!policies || policies.length === 0) return true;
    return policies.some((p) =>
      (p.spec?.ingress ?? []).some(
        (rule) =>
          (!rule.from || rule.from.length === 0 || rule.from.some((peer) => peerSelects(peer, from))) &&
          portAllowed(rule.ports, to, port, protocol),
      ),
    );
  }

  egressAllowed(from: Peer, to: Destination, port: number, protocol = 'TCP'): boolean {
    const policies = this.selecting(from, 'Egress');
    if (!policies || policies.length === 0) return true;
    return policies.some((p) =>
      (p.spec?.egress ?? []).some((rule) => {
        const peerOk =
          !rule.to ||
          rule.to.length === 0 ||
          rule.to.some((peer) =>
            'pod' in to
              ? peerSelects(peer, to.pod)
              : peer.ipBlock !== undefined &&
                cidrWithin(to.cidr, peer.ipBlock.cidr) &&
                !(peer.ipBlock.except ?? []).some((e) => cidrsOverlap(e, to.cidr)),
          );
        return peerOk && portAllowed(rule.ports, 'pod' in to ? to.pod : undefined, port, protocol);
      }),
    );
  }

  reachable(from: Peer, to: Peer, port: number, protocol = 'TCP'): boolean {
    return this.egressAllowed(from, { pod: to }, port, protocol) && this.ingressAllowed(to, from, port, protocol);
  }
}

/**
 * Every NetworkPolicy rule names its peers and ports (no allow-all rule), a default deny covers both
 * directions, every pod may use the cluster DNS, and the connections between the pods of the namespace (and
 * from the ingress controller) are exactly `expected` ("from -> to:port"), nothing more, nothing less.
 */
export function networkProblems(objects: K8sObject[], expected: string[]): string[] {
  const problems: string[] = [];
  const list = ofKind<INetworkPolicy>(objects, 'NetworkPolicy');
  const policies = new Policies(list);
  // podSelector {} selects every pod of the namespace; with both types and no rules it denies everything.
  const defaultDeny = list.some(
    (p) =>
      p.spec?.podSelector !== undefined &&
      Object.keys(p.spec.podSelector).length === 0 &&
      (['Ingress', 'Egress'] as const).every((type) => p.spec?.policyTypes?.includes(type)) &&
      !p.spec?.ingress?.length &&
      !p.spec?.egress?.length,
  );
  if (!defaultDeny) problems.push('no default-deny policy (podSelector {}, Ingress and Egress, no rules)');
  for (const p of list) {
    for (const rule of p.spec?.ingress ?? [])
      if (!rule.from?.length || !rule.ports?.length)
        problems.push(`NetworkPolicy/${p.metadata.name}: an ingress rule without from or ports`);
    for (const rule of p.spec?.egress ?? [])
      if (!rule.to?.length || !rule.ports?.length)
        problems.push(`NetworkPolicy/${p.metadata.name}: an egress rule without to or ports`);
    for (const peer of [
      ...(p.spec?.ingress ?? []).flatMap((r) => r.from ?? []),
      ...(p.spec?.egress ?? []).flatMap((r) => r.to ?? []),
    ]) {
      if (peer.ipBlock && Number(peer.ipBlock.cidr.split('/')[1]) < 16)
        problems.push(`NetworkPolicy/${p.metadata.name}: ipBlock ${peer.ipBlock.cidr} wider than /16`);
    }
  }
  const pods = podsOf(objects);
  for (const pod of pods) {
    for (const protocol of ['UDP', 'TCP']) {
      if (!policies.egressAllowed(pod, { pod: CLUSTER_DNS }, 53, protocol))
        problems.push(`${pod.name} cannot reach the cluster DNS over ${protocol}`);
    }
  }
  const actual: string[] = [];
  for (const from of [INGRESS_CONTROLLER, ...pods]) {
    for (const to of pods) {
      for (const port of new Set(to.ports.values()))
        if (policies.reachable(from, to, port)) actual.push(`${from.name} -> ${to.name}:${port}`);
    }
  }
  for (const flow of actual) if (!expected.includes(flow)) problems.push(`allowed but not expected: ${flow}`);
  for (const flow of expected) if (!actual.includes(flow)) problems.push(`expected but not allowed: ${flow}`);
  return problems;
}

/** Production: which pods may open connections to which IP blocks (the managed servers) — exactly `expected`. */
export function externalProblems(objects: K8sObject[], expected: Record<string, string[]>): string[] {
  const problems: string[] = [];
  const list = ofKind<INetworkPolicy>(objects, 'NetworkPolicy');
  const policies = new Policies(list);
  const blocks = [
    ...new Set(
      list.flatMap((p) =>
        (p.spec?.egress ?? []).flatMap((r) =>
          (r.to ?? []).flatMap((peer) =>
            peer.ipBlock ? (r.ports ?? []).map((port) => `${peer.ipBlock!.cidr}:${port.port}`) : [],
          ),
        ),
      ),
    ),
  ];
  for (const [i, a] of blocks.entries()) {
    for (const b of blocks.slice(i + 1)) {
      if (cidrsOverlap(a.split(':')[0]!, b.split(':')[0]!))
        problems.push(`IP blocks ${a} and ${b} overlap: the servers are not separated`);
    }
  }
  const pods = podsOf(objects);
  const actual: Record<string, string[]> = {};
  for (const block of blocks) {
    const [cidr, port] = block.split(':');
    actual[block] = pods
      .filter((pod) => policies.egressAllowed(pod, { cidr: cidr! }, Number(port)))
      .map((pod) => pod.name)
      .sort();
  }
  const sorted = Object.fromEntries(Object.entries(expected).map(([k, v]) => [k, [...v].sort()]));
  if (JSON.stringify(actual, Object.keys(actual).sort()) !== JSON.stringify(sorted, Object.keys(sorted).sort())) {
    problems.push(`egress to IP blocks is ${JSON.stringify(actual)}, expected ${JSON.stringify(sorted)}`);
  }
  return problems;
}

// ---- URLs, Ingress, configuration --------------------------------------------------------------------------

function ingressBackend(ingress: IIngress, url: string): string | undefined {
  const { hostname, pathname } = new URL(url);
  const rule = ingress.spec?.rules?.find((r) => r.host === hostname);
  const path = rule?.http?.paths.find((p) =>
    p.pathType === 'Exact'
      ? p.path === pathname
      : pathname === p.path || pathname.startsWith(p.path!.endsWith('/') ? p.path! : `${p.path}/`),
  );
  return path?.backend.service?.name;
}

/** The three services agree on each other's URLs, and each public URL is routed to the right Service. */
export function wiringProblems(objects: K8sObject[], scheme: 'http' | 'https'): string[] {
  const problems: string[] = [];
  const as = configData(objects, 'authorization-server-config');
  const rs = configData(objects, 'resource-server-config');
  const client = configData(objects, 'client-app-config');
  const ingress = named<IIngress>(objects, 'Ingress', 'quartet');
  if (!ingress) return ['Ingress/quartet missing'];
  const same = (what: string, values: (string | undefined)[]) => {
    if (new Set(values).size !== 1 || values[0] === undefined) problems.push(`${what} differ: ${values.join(' / ')}`);
  };
  same('issuer (AS ISSUER, RS and client AUTHORIZATION_SERVER)', [
    as.ISSUER,
    rs.AUTHORIZATION_SERVER,
    client.AUTHORIZATION_SERVER,
  ]);
  same('resource identifier (RS RESOURCE_ID, AS RESOURCE_AUDIENCE, client RESOURCE_SERVER)', [
    rs.RESOURCE_ID,
    as.RESOURCE_AUDIENCE,
    client.RESOURCE_SERVER,
  ]);
  same('redirect URI (AS DEMO_CLIENT_REDIRECT_URI, client PUBLIC_URL/callback)', [
    as.DEMO_CLIENT_REDIRECT_URI,
    `${client.PUBLIC_URL}/callback`,
  ]);
  for (const [url, service, path] of [
    [as.ISSUER, 'authorization-server', '/oauth/token'],
    [as.ISSUER, 'authorization-server', '/.well-known/jwks.json'],
    [as.ISSUER, 'authorization-server', '/interaction/login'],
    [rs.RESOURCE_ID, 'resource-server', '/photos/1'],
    [client.PUBLIC_URL, 'client-app', '/'],
    [client.PUBLIC_URL, 'client-app', '/callback'],
  ] as const) {
    if (!url?.startsWith(`${scheme}://`)) {
      problems.push(`${url} is not ${scheme}`);
      continue;
    }
    if (ingressBackend(ingress, `${url}${path}`) !== service)
      problems.push(`${url}${path} is not routed to ${service}`);
  }
  for (const rule of ingress.spec?.rules ?? []) {
    for (const internal of ['/metrics', '/livez', '/readyz']) {
      if (ingressBackend(ingress, `http://${rule.host}${internal}`))
        problems.push(`${rule.host}${internal} is routed to the outside`);
    }
  }
  for (const data of [as, rs, client]) {
    if (!['false', '0'].includes(data.AUTO_MIGRATE ?? 'false'))
      problems.push('a server migrates at start (the Jobs do it)');
  }
  return problems;
}

/** Runs each service's own configuration check on the rendered ConfigMap (+ Secret) values. */
async function configProblems(
  objects: K8sObject[],
  secrets: Record<ServiceName, Record<string, string>>,
  production: boolean,
): Promise<string[]> {
  const problems: string[] = [];
  const { readConfig, ConfigSchema: asSchema } = await import('../services/authorization-server/src/config.js');
  const { readConfig: rsConfig, ConfigSchema: rsSchema } = await import('../services/resource-server/src/config.js');
  const { readConfig: clientConfig, ConfigSchema: clientSchema } = await import('../services/client-app/src/config.js');
  const checks: [ServiceName, { properties: object }, (env: NodeJS.ProcessEnv) => { WORKSHOP_MODE: boolean }][] = [
    ['authorization-server', asSchema, readConfig],
    ['resource-server', rsSchema, rsConfig],
    ['client-app', clientSchema, clientConfig],
  ];
  for (const [name, schema, load] of checks) {
    const data = configData(objects, `${name}-config`);
    // NODE_ENV, and the shutdown timing that @quartet/common's runService reads for every service.
    const known = new Set([
      ...Object.keys(schema.properties),
      'NODE_ENV',
      'SHUTDOWN_DELAY_SECONDS',
      'SHUTDOWN_TIMEOUT_SECONDS',
    ]);
    for (const key of Object.keys(data))
      if (!known.has(key)) problems.push(`${name}-config: ${key} is not a setting of the ${name}`);
    for (const key of Object.keys(secrets[name]))
      if (!known.has(key)) problems.push(`${name}-secrets: ${key} is not a setting of the ${name}`);
    try {
      const config = load({ ...data, ...secrets[name] });
      if (config.WORKSHOP_MODE) problems.push(`${name}: WORKSHOP_MODE is on`);
    } catch (err) {
      problems.push(`${name}: its configuration check refuses the manifests: ${(err as Error).message}`);
    }
    if (production && data.SEED_DEMO_DATA !== undefined && !['false', '0'].includes(data.SEED_DEMO_DATA))
      problems.push(`${name}: seeds demo users in production`);
  }
  return problems;
}

function secretData(secret: ISecret | undefined): Record<string, string> {
  if (!secret) return {};
  return {
    ...Object.fromEntries(
      Object.entries(secret.data ?? {}).map(([k, v]) => [k, Buffer.from(v, 'base64').toString('utf8')]),
    ),
    ...secret.stringData,
  };
}

const templates = () =>
  Object.fromEntries(
    readdirSync(join(root, 'infra/base/secret-templates')).map((file) => {
      const [secret] = parseYaml(
        readFileSync(join(root, 'infra/base/secret-templates', file), 'utf8'),
        file,
      ) as (ISecret & K8sObject)[];
      return [secret!.metadata.name, secret!];
    }),
  ) as Record<string, ISecret & K8sObject>;

// ---- expectations per overlay -------------------------------------------------------------------------------

const APP_FLOWS = [
  'ingress-controller -> authorization-server:9000',
  'ingress-controller -> resource-server:9100',
  'ingress-controller -> client-app:3000',
  'client-app -> authorization-server:9000',
  'client-app -> resource-server:9100',
  'resource-server -> authorization-server:9000',
];
const DEV_DATA_FLOWS = [
  'authorization-server -> postgres:5432',
  'authorization-server-migrate -> postgres:5432',
  'resource-server -> postgres:5432',
  'resource-server-migrate -> postgres:5432',
  'authorization-server -> redis-authorization-server:6379',
  'client-app -> redis-client-app:6379',
];
const PRODUCTION_BLOCKS = {
  '10.200.1.0/28:5432': ['authorization-server', 'authorization-server-migrate'],
  '10.200.2.0/28:5432': ['resource-server', 'resource-server-migrate'],
  '10.200.3.0/28:6379': ['authorization-server'],
  '10.200.4.0/28:6379': ['client-app'],
};

function devProblems(objects: K8sObject[]): string[] {
  const problems: string[] = [];
  if (!named(objects, 'StatefulSet', 'postgres') || !named(objects, 'Service', 'postgres'))
    problems.push('dev: no in-cluster PostgreSQL');
  const init = Object.values(configData(objects, 'postgres-init')).join('\n');
  for (const db of ['quartet_auth', 'quartet_resource'])
    if (!init.includes(`CREATE DATABASE ${db}`)) problems.push(`dev: init script does not create ${db}`);
  for (const redis of ['redis-authorization-server', 'redis-client-app']) {
    if (!named(objects, 'Deployment', redis) || !named(objects, 'Service', redis))
      problems.push(`dev: no in-cluster ${redis}`);
  }
  const url = (service: ServiceName, key: string) =>
    secretData(generated<ISecret>(objects, 'Secret', `${service}-secrets`))[key] ?? '';
  if (!/@postgres:5432\/quartet_auth$/.test(url('authorization-server', 'DATABASE_URL')))
    problems.push('dev: AS DATABASE_URL is not quartet_auth on postgres');
  if (!/@postgres:5432\/quartet_resource$/.test(url('resource-server', 'DATABASE_URL')))
    problems.push('dev: RS DATABASE_URL is not quartet_resource on postgres');
  if (!/@redis-authorization-server:6379$/.test(url('authorization-server', 'REDIS_URL')))
    problems.push('dev: AS REDIS_URL is not its Redis');
  if (!/@redis-client-app:6379$/.test(url('client-app', 'REDIS_URL')))
    problems.push('dev: client REDIS_URL is not its Redis');
  // Every Secret and ConfigMap a pod names is part of the overlay.
  for (const w of workloads(objects)) {
    const spec = w.template.spec!;
    const refs = spec.containers
      .flatMap((c) => [
        ...(c.envFrom ?? []).map((e) => e.secretRef?.name ?? e.configMapRef?.name),
        ...(c.env ?? []).map((e) => e.valueFrom?.secretKeyRef?.name),
      ])
      .concat((spec.volumes ?? []).map((v) => v.configMap?.name ?? v.secret?.secretName));
    for (const ref of refs)
      if (ref && !objects.some((o) => ['Secret', 'ConfigMap'].includes(o.kind) && o.metadata.name === ref))
        problems.push(`dev: ${w.name} names ${ref}, which is missing`);
  }
  const ingress = named<IIngress>(objects, 'Ingress', 'quartet');
  if (ingress?.spec?.tls?.length) problems.push('dev: TLS on the ingress');
  if (!ingress?.spec?.rules?.every((r) => r.host?.endsWith('.localhost')))
    problems.push('dev: ingress hosts are not *.localhost');
  return problems;
}

function productionProblems(objects: K8sObject[]): string[] {
  const problems: string[] = [];
  for (const s of ofKind<ISecret>(objects, 'Secret')) {
    if (Object.keys(s.data ?? {}).length || Object.keys(s.stringData ?? {}).length)
      problems.push(`production: Secret/${s.metadata.name} with data in the repository`);
  }
  for (const w of workloads(objects)) {
    if (/postgres|redis/.test(w.name)) problems.push(`production: in-cluster ${w.kind}/${w.name}`);
    for (const c of w.template.spec!.containers)
      if (!/:[\w.-]+$/.test(c.image ?? '') || /:(dev|latest)$/.test(c.image ?? ''))
        problems.push(`production: ${w.name} image ${c.image} has no release tag`);
  }
  // The Secrets the pods expect are the documented templates, with the keys the pods read.
  const known = templates();
  for (const w of workloads(objects)) {
    for (const c of w.template.spec!.containers) {
      for (const ref of (c.envFrom ?? []).flatMap((e) => (e.secretRef?.name ? [e.secretRef.name] : [])))
        if (!known[ref]) problems.push(`production: ${w.name} reads Secret ${ref}, which has no template`);
      for (const e of c.env ?? []) {
        const ref = e.valueFrom?.secretKeyRef;
        if (ref && !Object.keys(known[ref.name ?? '']?.stringData ?? {}).includes(ref.key))
          problems.push(`production: ${w.name} reads ${ref.name}/${ref.key}, not in a template`);
      }
    }
  }
  const ingress = named<IIngress>(objects, 'Ingress', 'quartet');
  const tlsHosts = new Set(
    (ingress?.spec?.tls ?? []).filter((tls) => tls.secretName).flatMap((tls) => tls.hosts ?? []),
  );
  for (const rule of ingress?.spec?.rules ?? [])
    if (!tlsHosts.has(rule.host!)) problems.push(`production: ${rule.host} without TLS`);
  if (!ingress?.metadata.annotations?.['cert-manager.io/cluster-issuer'])
    problems.push('production: no cert-manager annotation on the ingress');
  return problems;
}

/** Production config check input: the templates' keys, with strong random values for the secrets. */
function productionSecrets(): Record<ServiceName, Record<string, string>> {
  const known = templates();
  return Object.fromEntries(
    SERVICE_NAMES.map((name) => [
      name,
      Object.fromEntries(
        Object.entries(known[`${name}-secrets`]?.stringData ?? {}).map(([k, v]) => [
          k,
          k.endsWith('_URL') ? v : randomBytes(32).toString('base64url'),
        ]),
      ),
    ]),
  ) as Record<ServiceName, Record<string, string>>;
}

// ---- the tests ------------------------------------------------------------------------------------------------

const kubectl = findKubectl();
if (!kubectl.path) {
  if (kubectl.required) t.fail(`QUARTET_KUBECTL=${process.env.QUARTET_KUBECTL} does not exist`);
  else t.plan(0, 'kubectl not found on PATH (apt-get install kubernetes-client, or set QUARTET_KUBECTL)');
} else {
  await run(kubectl.path);
}

async function run(kubectlPath: string) {
  const dev = render(kubectlPath, 'dev');
  const production = render(kubectlPath, 'production');

  for (const [overlay, objects] of [
    ['dev', dev],
    ['production', production],
  ] as const) {
    t.test(`${overlay}: every object is valid against the Kubernetes schemas`, async (t) => {
      t.ok(objects.length > 20, `${objects.length} objects rendered`);
      t.same(schemaProblems(objects), []);
      t.same(
        objects
          .filter((o) => o.kind !== 'Namespace' && o.metadata.namespace !== NAMESPACE)
          .map((o) => `${o.kind}/${o.metadata.name}`),
        [],
        `all in namespace ${NAMESPACE}`,
      );
      t.equal(
        named(objects, 'Namespace', NAMESPACE)?.metadata.labels?.['pod-security.kubernetes.io/enforce'],
        'restricted',
      );
    });
    t.test(
      `${overlay}: every pod is non-root, read-only, without capabilities, with requests and limits`,
      async (t) => {
        t.same(podProblems(objects), []);
      },
    );
    t.test(
      `${overlay}: each service has 2+ replicas, /readyz and /livez probes, a Service, an HPA and a PDB; migration Jobs`,
      async (t) => {
        t.same(serviceProblems(objects), []);
      },
    );
    t.test(`${overlay}: NetworkPolicies allow exactly the flows of the roles`, async (t) => {
      t.same(networkProblems(objects, overlay === 'dev' ? [...APP_FLOWS, ...DEV_DATA_FLOWS] : APP_FLOWS), []);
    });
    t.test(
      `${overlay}: the services agree on their URLs, and the ingress routes only their public paths`,
      async (t) => {
        t.same(wiringProblems(objects, overlay === 'dev' ? 'http' : 'https'), []);
      },
    );
  }

  t.test('dev: in-cluster PostgreSQL (both databases) and Redis, demo secrets, no TLS', async (t) => {
    t.same(devProblems(dev), []);
    const secrets = Object.fromEntries(
      SERVICE_NAMES.map((n) => [n, secretData(generated<ISecret>(dev, 'Secret', `${n}-secrets`))]),
    ) as Record<ServiceName, Record<string, string>>;
    t.same(await configProblems(dev, secrets, false), [], 'each service accepts its dev configuration');
  });

  t.test(
    'production: no Secrets in the repository, TLS, release images, managed servers reached only by their owners',
    async (t) => {
      t.same(productionProblems(production), []);
      t.same(externalProblems(production, PRODUCTION_BLOCKS), []);
      const backchannel = new Policies(ofKind<INetworkPolicy>(production, 'NetworkPolicy'));
      const pods = podsOf(production);
      t.same(
        pods
          .filter((p) => backchannel.egressAllowed(p, { pod: INGRESS_CONTROLLER }, 443))
          .map((p) => p.name)
          .sort(),
        ['client-app', 'resource-server'],
        'only the client app and the resource server call the public URLs (through the ingress controller)',
      );
      t.same(
        await configProblems(production, productionSecrets(), true),
        [],
        'each service accepts its production configuration (https, no demo secrets)',
      );
    },
  );

  t.test('the secret templates are valid Secrets with placeholders only', async (t) => {
    const known = Object.values(templates());
    t.same(known.map((s) => s.metadata.name).sort(), SERVICE_NAMES.map((n) => `${n}-secrets`).sort());
    t.same(schemaProblems(known), []);
    for (const s of known)
      for (const [key, value] of Object.entries(s.stringData ?? {}))
        t.match(value, /CHANGE_ME/, `${s.metadata.name} ${key} is a placeholder`);
  });

  // The checks above can fail: break the rendered manifests the ways that matter and see them complain.
  t.test('the checks catch broken manifests', async (t) => {
    const copy = (objects: K8sObject[]) => structuredClone(objects);
    const find = (objects: K8sObject[], kind: string, name: string) =>
      objects.find((o) => o.kind === kind && o.metadata.name === name)!;

    let broken = copy(dev);
    (find(broken, 'Deployment', 'resource-server').spec as { replicas: number }).replicas = 1;
    t.match(serviceProblems(broken), [/resource-server: 1 replica/]);

    broken = copy(dev);
    const as = (find(broken, 'Deployment', 'authorization-server').spec as IDeployment['spec'])!.template.spec!
      .containers[0]!;
    as.readinessProbe!.httpGet!.path = '/livez';
    delete as.resources!.limits;
    as.securityContext!.readOnlyRootFilesystem = false;
    t.match(serviceProblems(broken), [/readinessProbe path \/livez, expected \/readyz/]);
    t.match(podProblems(broken), [/readOnlyRootFilesystem/, /no cpu limits/, /no memory limits/]);

    broken = copy(dev);
    (find(broken, 'Deployment', 'client-app').spec as { replicas: number }).replicas = 'two' as unknown as number;
    t.match(schemaProblems(broken), [/Deployment\/client-app: .*replicas must be integer/]);

    broken = copy(dev).filter(
      (o) => !(o.kind === 'HorizontalPodAutoscaler' && o.metadata.name === 'client-app') && o.kind !== 'Job',
    );
    t.match(serviceProblems(broken), [
      /HPA .*client-app missing/,
      /Job\/authorization-server-migrate missing/,
      /Job\/resource-server-migrate missing/,
    ]);

    // The resource server let into the authorization server's Redis (both directions opened).
    broken = copy(dev);
    const redisIn = find(broken, 'NetworkPolicy', 'redis-authorization-server-ingress').spec as INetworkPolicy['spec'];
    redisIn!.ingress![0]!.from!.push({ podSelector: { matchLabels: { 'app.kubernetes.io/name': 'resource-server' } } });
    const rsOut = find(broken, 'NetworkPolicy', 'resource-server-database-egress').spec as INetworkPolicy['spec'];
    rsOut!.egress!.push({ to: [{ podSelector: {} }], ports: [{ port: 6379 }] });
    t.same(networkProblems(broken, [...APP_FLOWS, ...DEV_DATA_FLOWS]), [
      'allowed but not expected: resource-server -> redis-authorization-server:6379',
    ]);

    // An allow-all rule, no default deny, no DNS policy (so the data stores' egress is no longer isolated).
    broken = copy(dev).filter((o) => !['default-deny-all', 'allow-dns-egress'].includes(o.metadata.name));
    (find(broken, 'NetworkPolicy', 'client-app-ingress').spec as INetworkPolicy['spec'])!.ingress!.push({});
    const problems = networkProblems(broken, [...APP_FLOWS, ...DEV_DATA_FLOWS]);
    t.match(problems, [/no default-deny/]);
    t.ok(problems.includes('NetworkPolicy/client-app-ingress: an ingress rule without from or ports'));
    t.ok(problems.includes('client-app cannot reach the cluster DNS over UDP'));
    t.ok(problems.includes('allowed but not expected: postgres -> client-app:3000'));

    // Production: the client app's Redis range widened over the authorization server's database.
    broken = copy(production);
    const clientRedis = find(broken, 'NetworkPolicy', 'client-app-redis-egress').spec as INetworkPolicy['spec'];
    clientRedis!.egress![0]!.to![0]!.ipBlock!.cidr = '10.200.0.0/16';
    clientRedis!.egress![0]!.ports!.push({ port: 5432 });
    t.match(externalProblems(broken, PRODUCTION_BLOCKS), [/overlap/]);

    // Production: a Secret with data, TLS dropped, a dev image, an http URL.
    broken = copy(production);
    broken.push({
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 'leak', namespace: NAMESPACE },
      data: { X: 'eA==' },
    });
    delete (find(broken, 'Ingress', 'quartet').spec as IIngress['spec'])!.tls;
    (find(broken, 'Deployment', 'client-app').spec as IDeployment['spec'])!.template.spec!.containers[0]!.image =
      'quartet/client-app:dev';
    t.match(productionProblems(broken), [
      /Secret\/leak with data/,
      /client-app image quartet\/client-app:dev/,
      /auth.quartet.example without TLS/,
    ]);
    const cm = broken.find(
      (o) => o.kind === 'ConfigMap' && o.metadata.name.startsWith('resource-server-config'),
    ) as IConfigMap & K8sObject;
    cm.data!.AUTHORIZATION_SERVER = 'http://auth.quartet.example';
    t.match(wiringProblems(broken, 'https'), [/issuer .* differ/]);
    t.match(await configProblems(broken, productionSecrets(), true), [
      /resource-server: its configuration check refuses the manifests: .*AUTHORIZATION_SERVER must be an https URL/,
    ]);
  });
}
