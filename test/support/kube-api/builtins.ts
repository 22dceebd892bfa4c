/**
 * The built-in resource types, with the defaults and validation rules of the real API server that a controller
 * can observe (Secret data must be base64, immutable Secrets refuse data changes, Deployments default their
 * strategy and must have a selector that matches their template, ...).
 */
import { ALL_VERBS, type Obj, type ResourceType } from './registry.js';
import { labelSelectorFromObject, matchesLabels } from './selectors.js';
import { cause, type StatusCause } from './status.js';
import { field } from './validation.js';

type Spec = Partial<ResourceType> & Pick<ResourceType, 'group' | 'version' | 'plural' | 'kind'>;

function define(spec: Spec): ResourceType {
  return {
    singular: spec.kind.toLowerCase(),
    namespaced: true,
    shortNames: [],
    categories: [],
    verbs: ALL_VERBS,
    statusSubresource: false,
    extraSubresources: [],
    tracksGeneration: false,
    fieldSelectors: [],
    returnDeletedObject: false,
    virtual: false,
    custom: false,
    ...spec,
  };
}

const MAX_DATA_BYTES = 1024 * 1024;
const DATA_KEY = /^[-._a-zA-Z0-9]+$/;
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** Secret and ConfigMap rules. Messages name keys, never values: these are secrets. */
function validateData(object: Obj, old: Obj | undefined, kind: 'Secret' | 'ConfigMap'): StatusCause[] {
  const causes: StatusCause[] = [];
  let size = 0;
  for (const mapName of kind === 'Secret' ? ['data'] : ['data', 'binaryData']) {
    const map = object[mapName];
    if (map === undefined || map === null) continue;
    if (typeof map !== 'object' || Array.isArray(map)) {
      causes.push(cause.typeInvalid(mapName, 'non-object', 'must be a map of strings'));
      continue;
    }
    for (const [key, value] of Object.entries(map)) {
      if (!DATA_KEY.test(key))
        causes.push(
          cause.invalid(
            `${mapName}[${key}]`,
            key,
            "a valid config key must consist of alphanumeric characters, '-', '_' or '.'",
          ),
        );
      if (typeof value !== 'string') {
        causes.push({
          reason: 'FieldValueTypeInvalid',
          message: 'Invalid value: must be a string',
          field: `${mapName}[${key}]`,
        });
        continue;
      }
      const base64 = kind === 'Secret' || mapName === 'binaryData';
      if (base64 && !BASE64.test(value)) {
        causes.push({
          reason: 'FieldValueInvalid',
          message: 'Invalid value: illegal base64 data',
          field: `${mapName}[${key}]`,
        });
      }
      size += base64 ? Math.floor((value.length * 3) / 4) : Buffer.byteLength(value);
    }
  }
  if (size > MAX_DATA_BYTES) causes.push(cause.tooLong('data', MAX_DATA_BYTES));
  if (old?.immutable === true) {
    const same = (k: string) => JSON.stringify(object[k] ?? {}) === JSON.stringify(old[k] ?? {});
    if (!same('data') || (kind === 'ConfigMap' && !same('binaryData'))) {
      causes.push(cause.forbidden('data', 'field is immutable when `immutable` is set'));
    }
    if (object.immutable !== true)
      causes.push(cause.forbidden('immutable', 'field is immutable when `immutable` is set'));
  }
  if (kind === 'Secret' && old && old.type !== object.type) {
    causes.push(cause.invalid('type', object.type, 'field is immutable'));
  }
  return causes;
}

function prepareSecret(object: Obj): void {
  object.type ??= 'Opaque';
  // stringData is a write-only convenience: merged into data (base64) and never stored.
  const stringData = object.stringData as Record<string, string> | undefined;
  if (stringData && typeof stringData === 'object') {
    const data = (object.data ?? {}) as Record<string, string>;
    for (const [key, value] of Object.entries(stringData))
      data[key] = Buffer.from(String(value), 'utf8').toString('base64');
    object.data = data;
  }
  delete object.stringData;
}

function validateContainers(podSpec: unknown, path: string): StatusCause[] {
  const containers = field(podSpec, 'containers');
  if (!Array.isArray(containers) || containers.length === 0) return [cause.required(`${path}.containers`)];
  const causes: StatusCause[] = [];
  const names = new Set<string>();
  containers.forEach((c: Record<string, unknown>, i) => {
    if (typeof c?.name !== 'string' || c.name === '') causes.push(cause.required(`${path}.containers[${i}].name`));
    else if (names.has(c.name))
      causes.push({
        reason: 'FieldValueDuplicate',
        message: `Duplicate value: "${c.name}"`,
        field: `${path}.containers[${i}].name`,
      });
    else names.add(c.name);
    if (typeof c?.image !== 'string' || c.image === '') causes.push(cause.required(`${path}.containers[${i}].image`));
  });
  return causes;
}

function validateWorkload(object: Obj, old: Obj | undefined, selectorRequired: boolean): StatusCause[] {
  const causes: StatusCause[] = [];
  const selector = field(object, 'spec.selector');
  const templateLabels = field(object, 'spec.template.metadata.labels') as Record<string, string> | undefined;
  if (selector === undefined || selector === null) {
    if (selectorRequired) causes.push(cause.required('spec.selector'));
  } else {
    const requirements = labelSelectorFromObject(selector) ?? [];
    if (requirements.length === 0)
      causes.push(cause.invalid('spec.selector', 'empty', 'empty selector is invalid for deployment'));
    else if (!matchesLabels(requirements, templateLabels)) {
      causes.push(
        cause.invalid('spec.template.metadata.labels', 'labels', '`selector` does not match template `labels`'),
      );
    }
    if (old && JSON.stringify(field(old, 'spec.selector')) !== JSON.stringify(selector)) {
      causes.push(cause.invalid('spec.selector', 'selector', 'field is immutable'));
    }
  }
  causes.push(...validateContainers(field(object, 'spec.template.spec'), 'spec.template.spec'));
  const replicas = field(object, 'spec.replicas');
  if (replicas !== undefined && (!Number.isInteger(replicas) || (replicas as number) < 0)) {
    causes.push(cause.invalid('spec.replicas', replicas, 'must be greater than or equal to 0'));
  }
  return causes;
}

function spec(object: Obj): Record<string, unknown> {
  if (!object.spec || typeof object.spec !== 'object') object.spec = {};
  return object.spec as Record<string, unknown>;
}

/** A binding names its role once: `roleRef` is required and cannot change (delete and recreate the binding). */
function validateBinding(object: Obj, old: Obj | undefined): StatusCause[] {
  const roleRef = object.roleRef as { kind?: unknown; name?: unknown } | undefined;
  if (!roleRef || typeof roleRef.name !== 'string' || roleRef.name === '') return [cause.required('roleRef.name')];
  if (roleRef.kind !== 'Role' && roleRef.kind !== 'ClusterRole')
    return [cause.invalid('roleRef.kind', roleRef.kind, 'must be Role or ClusterRole')];
  if (old && JSON.stringify(old.roleRef) !== JSON.stringify(object.roleRef))
    return [cause.invalid('roleRef', 'roleRef', 'cannot change roleRef')];
  return [];
}

const defaultRollingUpdate = () => ({ maxSurge: '25%', maxUnavailable: '25%' });

export function builtinTypes(): ResourceType[] {
  const core = { group: '', version: 'v1' };
  const rbac = { group: 'rbac.authorization.k8s.io', version: 'v1' };
  const apps = { group: 'apps', version: 'v1', tracksGeneration: true, statusSubresource: true, categories: ['all'] };
  return [
    define({
      ...core,
      plural: 'namespaces',
      kind: 'Namespace',
      namespaced: false,
      shortNames: ['ns'],
      statusSubresource: true,
      extraSubresources: ['finalize'],
      fieldSelectors: ['status.phase'],
      prepare: (o) => {
        spec(o).finalizers ??= ['kubernetes'];
        const labels = (o.metadata!.labels ??= {}) as Record<string, string>;
        labels['kubernetes.io/metadata.name'] = o.metadata!.name as string;
      },
    }),
    define({
      ...core,
      plural: 'secrets',
      kind: 'Secret',
      fieldSelectors: ['type'],
      prepare: prepareSecret,
      validate: (o, old) => validateData(o, old, 'Secret'),
    }),
    define({
      ...core,
      plural: 'configmaps',
      kind: 'ConfigMap',
      shortNames: ['cm'],
      validate: (o, old) => validateData(o, old, 'ConfigMap'),
    }),
    define({
      ...core,
      plural: 'pods',
      kind: 'Pod',
      shortNames: ['po'],
      categories: ['all'],
      statusSubresource: true,
      returnDeletedObject: true,
      fieldSelectors: [
        'status.phase',
        'spec.nodeName',
        'spec.serviceAccountName',
        'spec.restartPolicy',
        'status.podIP',
      ],
      prepare: (o, old) => {
        const s = spec(o);
        if (!old) o.status ??= { phase: 'Pending', qosClass: 'BestEffort' };
        s.serviceAccountName ??= 'default';
        s.restartPolicy ??= 'Always';
      },
      validate: (o) => validateContainers(o.spec, 'spec'),
    }),
    define({
      ...core,
      plural: 'services',
      kind: 'Service',
      shortNames: ['svc'],
      categories: ['all'],
      statusSubresource: true,
    }),
    define({
      ...core,
      plural: 'serviceaccounts',
      kind: 'ServiceAccount',
      shortNames: ['sa'],
      extraSubresources: ['token'],
    }),
    define({
      ...core,
      plural: 'events',
      kind: 'Event',
      shortNames: ['ev'],
      fieldSelectors: [
        'involvedObject.kind',
        'involvedObject.namespace',
        'involvedObject.name',
        'involvedObject.uid',
        'involvedObject.apiVersion',
        'involvedObject.resourceVersion',
        'involvedObject.fieldPath',
        'reason',
        'reportingComponent',
        'source',
        'type',
      ],
    }),
    define({
      group: 'events.k8s.io',
      version: 'v1',
      plural: 'events',
      kind: 'Event',
      shortNames: ['ev'],
      fieldSelectors: [
        'regarding.kind',
        'regarding.namespace',
        'regarding.name',
        'regarding.uid',
        'reason',
        'type',
        'reportingController',
      ],
    }),
    define({
      ...apps,
      plural: 'deployments',
      kind: 'Deployment',
      shortNames: ['deploy'],
      prepare: (o) => {
        const s = spec(o);
        s.replicas ??= 1;
        s.strategy ??= { type: 'RollingUpdate', rollingUpdate: defaultRollingUpdate() };
        const strategy = s.strategy as Record<string, unknown>;
        if (strategy.type === 'RollingUpdate') strategy.rollingUpdate ??= defaultRollingUpdate();
        s.revisionHistoryLimit ??= 10;
        s.progressDeadlineSeconds ??= 600;
      },
      validate: (o, old) => validateWorkload(o, old, true),
    }),
    define({
      ...apps,
      plural: 'statefulsets',
      kind: 'StatefulSet',
      shortNames: ['sts'],
      prepare: (o) => {
        const s = spec(o);
        s.replicas ??= 1;
        s.podManagementPolicy ??= 'OrderedReady';
        s.updateStrategy ??= { type: 'RollingUpdate', rollingUpdate: { partition: 0 } };
        s.revisionHistoryLimit ??= 10;
      },
      validate: (o, old) => validateWorkload(o, old, true),
    }),
    define({
      ...apps,
      plural: 'daemonsets',
      kind: 'DaemonSet',
      shortNames: ['ds'],
      prepare: (o) => {
        const s = spec(o);
        s.updateStrategy ??= { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 1, maxSurge: 0 } };
        s.revisionHistoryLimit ??= 10;
      },
      validate: (o, old) => validateWorkload(o, old, true),
    }),
    define({
      ...apps,
      plural: 'replicasets',
      kind: 'ReplicaSet',
      shortNames: ['rs'],
      validate: (o, old) => validateWorkload(o, old, true),
    }),
    define({
      group: 'batch',
      version: 'v1',
      plural: 'jobs',
      kind: 'Job',
      categories: ['all'],
      statusSubresource: true,
      tracksGeneration: true,
    }),
    define({
      group: 'batch',
      version: 'v1',
      plural: 'cronjobs',
      kind: 'CronJob',
      shortNames: ['cj'],
      categories: ['all'],
      statusSubresource: true,
      tracksGeneration: true,
    }),
    define({ group: 'coordination.k8s.io', version: 'v1', plural: 'leases', kind: 'Lease' }),
    define({
      ...core,
      plural: 'persistentvolumeclaims',
      kind: 'PersistentVolumeClaim',
      shortNames: ['pvc'],
      statusSubresource: true,
      // No storage provisioner: a claim stays Pending, as on a cluster without a default StorageClass.
      prepare: (o, old) => {
        if (!old) o.status ??= { phase: 'Pending' };
        spec(o).volumeMode ??= 'Filesystem';
      },
    }),
    define({
      ...core,
      plural: 'persistentvolumes',
      kind: 'PersistentVolume',
      namespaced: false,
      shortNames: ['pv'],
      statusSubresource: true,
    }),
    // RBAC objects are stored and returned as written; the double authorizes nothing (every token may do everything).
    define({ ...rbac, plural: 'roles', kind: 'Role' }),
    define({ ...rbac, plural: 'rolebindings', kind: 'RoleBinding', validate: validateBinding }),
    define({ ...rbac, plural: 'clusterroles', kind: 'ClusterRole', namespaced: false }),
    define({
      ...rbac,
      plural: 'clusterrolebindings',
      kind: 'ClusterRoleBinding',
      namespaced: false,
      validate: validateBinding,
    }),
    define({
      group: 'authentication.k8s.io',
      version: 'v1',
      plural: 'tokenreviews',
      kind: 'TokenReview',
      namespaced: false,
      verbs: ['create'],
      virtual: true,
    }),
    define({
      group: 'apiextensions.k8s.io',
      version: 'v1',
      plural: 'customresourcedefinitions',
      kind: 'CustomResourceDefinition',
      namespaced: false,
      shortNames: ['crd', 'crds'],
      statusSubresource: true,
      tracksGeneration: true,
      validate: validateCrd,
    }),
  ];
}

function validateCrd(o: Obj, old: Obj | undefined): StatusCause[] {
  const causes: StatusCause[] = [];
  const group = field(o, 'spec.group');
  const plural = field(o, 'spec.names.plural');
  const kind = field(o, 'spec.names.kind');
  const scope = field(o, 'spec.scope');
  if (typeof group !== 'string' || !group.includes('.'))
    causes.push(cause.invalid('spec.group', group, 'should be a domain with at least one dot'));
  if (typeof plural !== 'string' || plural === '') causes.push(cause.required('spec.names.plural'));
  if (typeof kind !== 'string' || kind === '') causes.push(cause.required('spec.names.kind'));
  if (scope !== 'Namespaced' && scope !== 'Cluster')
    causes.push(cause.notSupported('spec.scope', scope, ['Cluster', 'Namespaced']));
  if (typeof plural === 'string' && typeof group === 'string' && o.metadata?.name !== `${plural}.${group}`) {
    causes.push(cause.invalid('metadata.name', o.metadata?.name, `must be spec.names.plural+"."+spec.group`));
  }
  const versions = field(o, 'spec.versions');
  if (!Array.isArray(versions) || versions.length === 0) {
    causes.push(cause.required('spec.versions', 'must have exactly one version marked as storage version'));
  } else {
    if (versions.filter((v: Record<string, unknown>) => v?.storage === true).length !== 1) {
      causes.push(
        cause.invalid('spec.versions', 'versions', 'must have exactly one version marked as storage version'),
      );
    }
    versions.forEach((v: Record<string, unknown>, i) => {
      if (typeof v?.name !== 'string' || v.name === '') causes.push(cause.required(`spec.versions[${i}].name`));
      if (field(v, 'schema.openAPIV3Schema') === undefined)
        causes.push(cause.required(`spec.versions[${i}].schema.openAPIV3Schema`, 'schemas are required'));
    });
  }
  if (old) {
    for (const path of ['spec.group', 'spec.names.plural', 'spec.scope']) {
      if (field(old, path) !== field(o, path)) causes.push(cause.invalid(path, field(o, path), 'field is immutable'));
    }
  }
  return causes;
}
