/**
 * The resource types the double serves: built-ins declared in builtins.ts plus whatever CustomResourceDefinitions
 * register at runtime. A type is addressed by group/version/plural in URLs; objects are stored per group/plural
 * (`storageKey`), so every served version of a CRD sees the same objects, as with `conversion: None`.
 */
import type { PrinterColumn } from './printer-columns.js';
import type { Schema } from './schema.js';
import type { StatusCause } from './status.js';

export type Obj = Record<string, unknown> & { metadata?: Record<string, unknown> };

export interface ResourceType {
  group: string;
  version: string;
  plural: string;
  singular: string;
  kind: string;
  namespaced: boolean;
  shortNames: string[];
  categories: string[];
  verbs: string[];
  /** `status` is written only through `/status`; the main resource ignores it. */
  statusSubresource: boolean;
  /** Other subresources served (discovery lists them): e.g. `token` on serviceaccounts. */
  extraSubresources: string[];
  /** `metadata.generation` exists and is bumped when anything but metadata and status changes. */
  tracksGeneration: boolean;
  /** Field selector paths beyond metadata.name/metadata.namespace. */
  fieldSelectors: string[];
  /** DELETE answers with the object (pods, custom resources) rather than a Success Status. */
  returnDeletedObject: boolean;
  /** Not stored: the type only answers `create` (TokenReview). */
  virtual: boolean;
  /** Custom resources: prune/default/validate with this schema; strategic merge patch is refused. */
  schema?: Schema;
  custom: boolean;
  /** A CRD version's `additionalPrinterColumns`: the columns of `kubectl get` (default: Age). */
  printerColumns?: PrinterColumn[];
  /** Defaults applied on create and update, before validation (e.g. Secret stringData → data). */
  prepare?(object: Obj, old: Obj | undefined): void;
  /** Type-specific validation; `old` is set on updates. */
  validate?(object: Obj, old: Obj | undefined): StatusCause[];
}

export const ALL_VERBS = ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'];

export const storageKeyOf = (t: Pick<ResourceType, 'group' | 'plural'>) => `${t.group}/${t.plural}`;
export const apiVersionOf = (t: Pick<ResourceType, 'group' | 'version'>) =>
  t.group ? `${t.group}/${t.version}` : t.version;

export class Registry {
  private readonly byPath = new Map<string, ResourceType>();

  add(type: ResourceType): void {
    this.byPath.set(`${type.group}/${type.version}/${type.plural}`, type);
  }

  /** Removes every version of group/plural (a deleted or renamed CRD). */
  removeResource(group: string, plural: string): void {
    for (const [key, t] of this.byPath) if (t.group === group && t.plural === plural) this.byPath.delete(key);
  }

  find(group: string, version: string, plural: string): ResourceType | undefined {
    return this.byPath.get(`${group}/${version}/${plural}`);
  }

  /** Looks a type up the way people name it: `Deployment`, `deployments`, `deployments.apps`, `apps/v1/Deployment`. */
  resolve(name: string): ResourceType {
    const lower = name.toLowerCase();
    for (const t of this.byPath.values()) {
      const candidates = [
        t.kind.toLowerCase(),
        t.plural,
        `${t.plural}.${t.group}`,
        `${apiVersionOf(t)}/${t.kind}`.toLowerCase(),
      ];
      if (candidates.includes(lower)) return t;
    }
    throw new Error(`kube-api double: no resource type named ${name}`);
  }

  all(): ResourceType[] {
    return [...this.byPath.values()];
  }

  groupVersions(): Map<string, string[]> {
    const groups = new Map<string, string[]>();
    for (const t of this.byPath.values()) {
      const versions = groups.get(t.group) ?? [];
      if (!versions.includes(t.version)) versions.push(t.version);
      groups.set(t.group, versions);
    }
    return groups;
  }

  inGroupVersion(group: string, version: string): ResourceType[] {
    return this.all().filter((t) => t.group === group && t.version === version);
  }
}
