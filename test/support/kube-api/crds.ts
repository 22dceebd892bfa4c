/**
 * CustomResourceDefinitions come alive: when a CRD is written, its served versions become resource types (with the
 * schema and the status subresource it declares) and its status reports NamesAccepted/Established, as the
 * apiextensions controllers do. Deleting the CRD removes its custom resources.
 */
import { ALL_VERBS, type Obj, type Registry, type ResourceType } from './registry.js';
import type { PrinterColumn } from './printer-columns.js';
import type { Schema } from './schema.js';
import { nowRfc3339, type ObjectStore, type StoreEvent } from './store.js';

interface CrdSpec {
  group: string;
  scope: 'Namespaced' | 'Cluster';
  names: {
    plural: string;
    singular?: string;
    kind: string;
    listKind?: string;
    shortNames?: string[];
    categories?: string[];
  };
  versions: {
    name: string;
    served: boolean;
    storage: boolean;
    schema?: { openAPIV3Schema?: Schema };
    subresources?: { status?: object; scale?: object };
    selectableFields?: { jsonPath: string }[];
    additionalPrinterColumns?: PrinterColumn[];
  }[];
}

export function typesForCrd(crd: Obj): ResourceType[] {
  const spec = crd.spec as CrdSpec;
  return spec.versions
    .filter((v) => v.served)
    .map((v) => ({
      group: spec.group,
      version: v.name,
      plural: spec.names.plural,
      singular: spec.names.singular ?? spec.names.kind.toLowerCase(),
      kind: spec.names.kind,
      namespaced: spec.scope === 'Namespaced',
      shortNames: spec.names.shortNames ?? [],
      categories: spec.names.categories ?? [],
      verbs: ALL_VERBS,
      statusSubresource: v.subresources?.status !== undefined,
      extraSubresources: [],
      tracksGeneration: true,
      fieldSelectors: (v.selectableFields ?? []).map((f) => f.jsonPath.replace(/^\./, '')),
      returnDeletedObject: true,
      virtual: false,
      custom: true,
      printerColumns: v.additionalPrinterColumns ?? [
        { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' },
      ],
      schema: v.schema?.openAPIV3Schema ?? { type: 'object', 'x-kubernetes-preserve-unknown-fields': true },
    }));
}

export function watchCrds(store: ObjectStore, registry: Registry): () => void {
  const crdType = registry.find('apiextensions.k8s.io', 'v1', 'customresourcedefinitions')!;
  return store.subscribe((event: StoreEvent) => {
    if (event.storageKey !== 'apiextensions.k8s.io/customresourcedefinitions') return;
    const spec = event.object.spec as CrdSpec;
    if (event.type === 'DELETED') {
      const any = registry.all().find((t) => t.custom && t.group === spec.group && t.plural === spec.names.plural);
      if (any) store.purge(any);
      registry.removeResource(spec.group, spec.names.plural);
      return;
    }
    registry.removeResource(spec.group, spec.names.plural);
    for (const t of typesForCrd(event.object)) registry.add(t);
    establish(store, crdType, event.object);
  });
}

function establish(store: ObjectStore, crdType: ResourceType, crd: Obj): void {
  const spec = crd.spec as CrdSpec;
  const existing = (crd.status ?? {}) as { conditions?: { type: string; lastTransitionTime?: string }[] };
  const since = (type: string) => existing.conditions?.find((c) => c.type === type)?.lastTransitionTime ?? nowRfc3339();
  const status = {
    conditions: [
      {
        type: 'NamesAccepted',
        status: 'True',
        reason: 'NoConflicts',
        message: 'no conflicts found',
        lastTransitionTime: since('NamesAccepted'),
      },
      {
        type: 'Established',
        status: 'True',
        reason: 'InitialNamesAccepted',
        message: 'the initial names have been accepted',
        lastTransitionTime: since('Established'),
      },
    ],
    acceptedNames: {
      plural: spec.names.plural,
      singular: spec.names.singular ?? spec.names.kind.toLowerCase(),
      kind: spec.names.kind,
      listKind: spec.names.listKind ?? `${spec.names.kind}List`,
      ...(spec.names.shortNames ? { shortNames: spec.names.shortNames } : {}),
      ...(spec.names.categories ? { categories: spec.names.categories } : {}),
    },
    storedVersions: spec.versions.filter((v) => v.storage).map((v) => v.name),
  };
  const current = store.get(crdType, undefined, (crd.metadata as { name: string }).name);
  if (!current) return;
  store.update(crdType, { ...current, status }, { subresource: 'status', system: true });
}
