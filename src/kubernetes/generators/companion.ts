/**
 * The credentials of the generations still alive (current and previous), kept in a Secret of their own next to the
 * target. A generated credential cannot be read again from the store (asking again issues a new one), yet a rollback
 * must put the previous one back: so it is kept, in a Secret (where secret values belong), owned by the ExternalSecret
 * and never mounted by anyone. One key per generation (`gen-<n>`), holding JSON {generator: {field: base64}}.
 */
import type { CoreV1Api, V1Secret } from '@kubernetes/client-node';
import { createHash } from 'node:crypto';
import { API_VERSION } from '../api/common.js';
import { generationVersion } from '../api/credentials.js';
import type { GeneratedData } from '../controller/secret-data.js';
import { generationIn } from './rollout-view.js';

export type GenerationData = Record<string, Record<string, Buffer>>;

export const COMPANION_ANNOTATION = 'strongroom.io/generated-for';

/** `strongroom-gen-<externalsecret>`, shortened with a digest when the name would be too long. */
export function companionName(externalSecret: string): string {
  const name = `strongroom-gen-${externalSecret}`;
  if (name.length <= 253) return name;
  const digest = createHash('sha256').update(externalSecret).digest('hex').slice(0, 10);
  return `${name.slice(0, 240).replace(/[-.]+$/, '')}-${digest}`;
}

export interface CompanionOwner {
  metadata: { name: string; namespace?: string; uid?: string };
}

export interface Companion {
  /** Every generation held, by number. */
  read(owner: CompanionOwner): Promise<Map<number, GenerationData>>;
  /** Replaces the held generations with `generations` (only when they differ from what is stored). */
  write(owner: CompanionOwner, generations: Map<number, GenerationData>): Promise<void>;
}

export function decodeGenerations(secret: Pick<V1Secret, 'data'> | undefined): Map<number, GenerationData> {
  const out = new Map<number, GenerationData>();
  for (const [key, value] of Object.entries(secret?.data ?? {})) {
    const m = /^gen-(\d+)$/.exec(key);
    if (!m) continue;
    try {
      const parsed = JSON.parse(Buffer.from(value, 'base64').toString('utf8')) as Record<
        string,
        Record<string, string>
      >;
      const gen: GenerationData = {};
      for (const [generator, fields] of Object.entries(parsed))
        gen[generator] = Object.fromEntries(Object.entries(fields).map(([k, v]) => [k, Buffer.from(v, 'base64')]));
      out.set(Number(m[1]), gen);
    } catch {
      // A damaged entry is as good as none: the lifecycle issues a new credential. (Never echo the content.)
    }
  }
  return out;
}

export function encodeGenerations(generations: Map<number, GenerationData>): Record<string, string> {
  const data: Record<string, string> = {};
  for (const [n, gen] of [...generations].sort(([a], [b]) => a - b)) {
    const json: Record<string, Record<string, string>> = {};
    for (const [generator, fields] of Object.entries(gen))
      json[generator] = Object.fromEntries(Object.entries(fields).map(([k, v]) => [k, v.toString('base64')]));
    data[generationVersion(n)] = Buffer.from(JSON.stringify(json), 'utf8').toString('base64');
  }
  return data;
}

export function createCompanion(core: CoreV1Api): Companion {
  const fetch = async (namespace: string, name: string) => {
    try {
      return await core.readNamespacedSecret({ namespace, name });
    } catch (err) {
      if ((err as { code?: number }).code === 404) return undefined;
      throw err;
    }
  };
  return {
    async read(owner) {
      return decodeGenerations(await fetch(owner.metadata.namespace!, companionName(owner.metadata.name)));
    },
    async write(owner, generations) {
      const namespace = owner.metadata.namespace!;
      const name = companionName(owner.metadata.name);
      const data = encodeGenerations(generations);
      const existing = await fetch(namespace, name);
      if (!existing) {
        await core.createNamespacedSecret({
          namespace,
          body: {
            metadata: {
              name,
              namespace,
              annotations: { [COMPANION_ANNOTATION]: owner.metadata.name },
              ...(owner.metadata.uid
                ? {
                    ownerReferences: [
                      {
                        apiVersion: API_VERSION,
                        kind: 'ExternalSecret',
                        name: owner.metadata.name,
                        uid: owner.metadata.uid,
                      },
                    ],
                  }
                : {}),
            },
            type: 'Opaque',
            data,
          },
        });
        return;
      }
      // Compare decoded generations, not encodings: JSON key order may differ between writers.
      if (sameGenerations(decodeGenerations(existing), generations)) return;
      await core.replaceNamespacedSecret({ namespace, name, body: { ...existing, data } });
    },
  };
}

function sameGenerations(a: Map<number, GenerationData>, b: Map<number, GenerationData>): boolean {
  if (a.size !== b.size) return false;
  for (const [n, gen] of a) {
    const other = b.get(n);
    if (!other || !sameData(gen, other)) return false;
  }
  return true;
}

export function sameData(a: GenerationData, b: GenerationData, ignore: ReadonlySet<string> = new Set()): boolean {
  const ka = Object.keys(a).sort();
  if (ka.join('\0') !== Object.keys(b).sort().join('\0')) return false;
  return ka.every((g) => {
    const fa = a[g]!;
    const fb = b[g]!;
    const keys = Object.keys(fa)
      .filter((k) => !ignore.has(k))
      .sort();
    if (
      keys.join('\0') !==
      Object.keys(fb)
        .filter((k) => !ignore.has(k))
        .sort()
        .join('\0')
    )
      return false;
    return keys.every((k) => fa[k]!.equals(fb[k]!));
  });
}

/**
 * For the rollout engine: the generated credentials of the generation a recorded version names (a rollback reads the
 * previous generation back from here). A generation no longer held (revoked) cannot be rolled back to.
 */
export function createGeneratedSource(companion: Companion) {
  return async (es: CompanionOwner, version: string): Promise<GeneratedData> => {
    const generation = generationIn(version);
    if (generation === undefined) return {};
    const held = (await companion.read(es)).get(generation);
    if (!held)
      throw new Error(
        `generation ${generation} of the generated credentials is no longer held (its lease was revoked): it cannot be restored`,
      );
    return Object.fromEntries(
      Object.entries(held).map(([name, data]) => [name, { data, version: generationVersion(generation) }]),
    );
  };
}
