import { ApiextensionsV1Api, PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
// client-node's models use _enum, _default and x_kubernetes_preserve_unknown_fields for the JSON names enum, default, x-kubernetes-preserve-unknown-fields.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, failure, startHarness, type Harness, type Loose } from './harness.js';

let h: Harness;
let ext: ApiextensionsV1Api;
beforeAll(async () => {
  h = await startHarness();
  ext = h.kc.makeApiClient(ApiextensionsV1Api);
  await h.core.createNamespace({ body: { metadata: { name: 'crs' } } });
  await ext.createCustomResourceDefinition({
    body: {
      metadata: { name: 'widgets.example.strongroom.io' },
      spec: {
        group: 'example.strongroom.io',
        scope: 'Namespaced',
        names: { plural: 'widgets', singular: 'widget', kind: 'Widget', shortNames: ['wd'] },
        versions: [
          {
            name: 'v1',
            served: true,
            storage: true,
            subresources: { status: {} },
            schema: {
              openAPIV3Schema: {
                type: 'object',
                properties: {
                  spec: {
                    type: 'object',
                    required: ['size'],
                    properties: {
                      size: { type: 'integer', minimum: 1, maximum: 10 },
                      color: { type: 'string', _enum: ['red', 'blue'], _default: 'red' },
                      name: { type: 'string', pattern: '^[a-z]+$', maxLength: 8 },
                      tags: { type: 'array', maxItems: 2, items: { type: 'string' } },
                      extra: { type: 'object', x_kubernetes_preserve_unknown_fields: true },
                      labels: { type: 'object', additionalProperties: { type: 'string' } },
                      note: { type: 'string', nullable: true },
                    },
                  },
                  status: { type: 'object', properties: { ready: { type: 'boolean' } } },
                },
              },
            },
          },
        ],
      },
    },
  });
});
afterAll(() => h.api.close());

const target = { group: 'example.strongroom.io', version: 'v1', namespace: 'crs', plural: 'widgets' };
const merge = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);

describe('custom resources', () => {
  it('establishes the CRD and serves its resources with discovery', async () => {
    const crd = await eventually(async () => {
      const c = await ext.readCustomResourceDefinition({ name: 'widgets.example.strongroom.io' });
      return c.status?.conditions?.some((x) => x.type === 'Established' && x.status === 'True') ? c : undefined;
    }, 'Established');
    expect(crd.status?.acceptedNames?.kind).toBe('Widget');
    const res = await fetch(`${h.api.url}/apis/example.strongroom.io/v1`);
    const doc = (await res.json()) as { resources: { name: string; namespaced: boolean; shortNames?: string[] }[] };
    expect(doc.resources.map((r) => r.name)).toEqual(['widgets', 'widgets/status']);
    expect(doc.resources[0]).toMatchObject({ namespaced: true, shortNames: ['wd'] });
  });

  it('prunes unknown fields, applies defaults and keeps preserved fields', async () => {
    const created = (await h.custom.createNamespacedCustomObject({
      ...target,
      body: {
        apiVersion: 'example.strongroom.io/v1',
        kind: 'Widget',
        metadata: { name: 'w1' },
        spec: { size: 3, bogus: true, extra: { anything: { goes: 1 } }, labels: { a: 'b' }, note: null },
      },
    })) as { metadata: { generation: number }; spec: Record<string, unknown> };
    expect(created.spec).toEqual({
      size: 3,
      color: 'red',
      extra: { anything: { goes: 1 } },
      labels: { a: 'b' },
      note: null,
    });
    expect(created.metadata.generation).toBe(1);
  });

  it('rejects schema violations with 422 and one cause per field', async () => {
    const err = await failure(
      h.custom.createNamespacedCustomObject({
        ...target,
        body: {
          apiVersion: 'example.strongroom.io/v1',
          kind: 'Widget',
          metadata: { name: 'bad' },
          spec: { size: 11, color: 'green', name: 'UPPER', tags: ['a', 'b', 'c'], labels: { a: 1 } },
        },
      }),
    );
    expect(err.code).toBe(422);
    expect(err.status.reason).toBe('Invalid');
    const causes = err.status.details.causes as { field: string; reason: string }[];
    expect(causes.map((c) => c.field).sort()).toEqual(
      ['spec.color', 'spec.labels.a', 'spec.name', 'spec.size', 'spec.tags'].sort(),
    );
    expect(causes.find((c) => c.field === 'spec.color')?.reason).toBe('FieldValueNotSupported');
    const missing = await failure(
      h.custom.createNamespacedCustomObject({
        ...target,
        body: { apiVersion: 'example.strongroom.io/v1', kind: 'Widget', metadata: { name: 'bad2' }, spec: {} },
      }),
    );
    expect(missing.status.details.causes).toEqual([
      expect.objectContaining({ field: 'spec.size', reason: 'FieldValueRequired' }),
    ]);
  });

  it('isolates the status subresource and bumps generation only for spec changes', async () => {
    await h.custom.createNamespacedCustomObject({
      ...target,
      body: { apiVersion: 'example.strongroom.io/v1', kind: 'Widget', metadata: { name: 'w2' }, spec: { size: 1 } },
    });
    const withStatus = (await h.custom.patchNamespacedCustomObjectStatus(
      { ...target, name: 'w2', body: { status: { ready: true }, spec: { size: 9 } } },
      merge,
    )) as Loose;
    expect(withStatus.status).toEqual({ ready: true });
    expect(withStatus.spec.size).toBe(1);
    const ignored = (await h.custom.patchNamespacedCustomObject(
      { ...target, name: 'w2', body: { status: { ready: false }, metadata: { labels: { l: 'v' } } } },
      merge,
    )) as Loose;
    expect(ignored.status).toEqual({ ready: true });
    expect(ignored.metadata.generation).toBe(1);
    const changed = (await h.custom.patchNamespacedCustomObject(
      { ...target, name: 'w2', body: { spec: { size: 2 } } },
      merge,
    )) as Loose;
    expect(changed.metadata.generation).toBe(2);
    const smp = await failure(
      h.custom.patchNamespacedCustomObject(
        { ...target, name: 'w2', body: { spec: { size: 3 } } },
        setHeaderOptions('Content-Type', PatchStrategy.StrategicMergePatch),
      ),
    );
    expect(smp.code).toBe(415);
  });

  it('removes custom resources when their CRD is deleted', async () => {
    await ext.createCustomResourceDefinition({
      body: {
        metadata: { name: 'gadgets.example.strongroom.io' },
        spec: {
          group: 'example.strongroom.io',
          scope: 'Cluster',
          names: { plural: 'gadgets', kind: 'Gadget' },
          versions: [
            {
              name: 'v1',
              served: true,
              storage: true,
              schema: { openAPIV3Schema: { type: 'object', x_kubernetes_preserve_unknown_fields: true } },
            },
          ],
        },
      },
    });
    await h.custom.createClusterCustomObject({
      group: 'example.strongroom.io',
      version: 'v1',
      plural: 'gadgets',
      body: { apiVersion: 'example.strongroom.io/v1', kind: 'Gadget', metadata: { name: 'g' }, anything: 1 },
    });
    const list = (await h.custom.listClusterCustomObject({
      group: 'example.strongroom.io',
      version: 'v1',
      plural: 'gadgets',
    })) as { items: unknown[] };
    expect(list.items).toHaveLength(1);
    await ext.deleteCustomResourceDefinition({ name: 'gadgets.example.strongroom.io' });
    const gone = await failure(
      h.custom.listClusterCustomObject({ group: 'example.strongroom.io', version: 'v1', plural: 'gadgets' }),
    );
    expect(gone.code).toBe(404);
  });

  it('rejects a CRD whose name does not match its names and group', async () => {
    const err = await failure(
      ext.createCustomResourceDefinition({
        body: {
          metadata: { name: 'wrong.example.strongroom.io' },
          spec: {
            group: 'example.strongroom.io',
            scope: 'Namespaced',
            names: { plural: 'things', kind: 'Thing' },
            versions: [{ name: 'v1', served: true, storage: true, schema: { openAPIV3Schema: { type: 'object' } } }],
          },
        },
      }),
    );
    expect(err.code).toBe(422);
  });
});
