import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { parseClusterExternalSecretSpec } from './cluster-external-secret.js';
import { allCrds } from './crds.js';
import { generatorNames, parseExternalSecretSpec } from './external-secret.js';
import { parseVaultDynamicSecretSpec } from './generator.js';
import { renderCrdFiles } from './generate.js';
import { parseSecretStoreSpec } from './secret-store.js';
import { parseDuration } from './common.js';

type Loose = Record<string, unknown>;

/** Structural-schema rules a real API server enforces on CRDs. */
function assertStructural(node: Loose, path: string): void {
  if (node['x-kubernetes-preserve-unknown-fields'] === true && !node.type) return;
  expect(node.type, `${path} has a type`).toBeDefined();
  expect(node.additionalProperties === false, `${path} must not set additionalProperties: false`).toBe(false);
  if (node.properties)
    expect(node.additionalProperties, `${path}: properties and additionalProperties are exclusive`).toBeUndefined();
  for (const k of ['oneOf', 'anyOf', 'allOf', '$ref', '$schema']) expect(node[k], `${path} uses ${k}`).toBeUndefined();
  for (const [k, v] of Object.entries((node.properties ?? {}) as Record<string, Loose>))
    assertStructural(v, `${path}.${k}`);
  if (node.items) assertStructural(node.items as Loose, `${path}[]`);
  if (typeof node.additionalProperties === 'object') assertStructural(node.additionalProperties as Loose, `${path}{}`);
}

describe('CRDs', () => {
  it('committed deploy/crds/*.yaml equal the output of the generator', () => {
    for (const [name, text] of renderCrdFiles()) {
      const committed = readFileSync(new URL(`../../../deploy/crds/${name}`, import.meta.url), 'utf8');
      expect(committed, `deploy/crds/${name} is stale: run npx tsx src/kubernetes/api/generate.ts`).toBe(text);
    }
  });

  it('are structural, with a status subresource and the printer columns users expect', () => {
    for (const crd of allCrds() as Loose[]) {
      const version = ((crd.spec as Loose).versions as Loose[])[0]!;
      expect(version.subresources).toEqual({ status: {} });
      assertStructural((version.schema as Loose).openAPIV3Schema as Loose, (crd.metadata as Loose).name as string);
    }
    const es = (allCrds() as Loose[]).find((c) => (c.metadata as Loose).name === 'externalsecrets.strongroom.io')!;
    const columns = (((es.spec as Loose).versions as Loose[])[0]!.additionalPrinterColumns as Loose[]).map(
      (c) => c.name,
    );
    expect(columns).toEqual(['Store', 'Refresh Interval', 'Status', 'Synced Version', 'Ready', 'Age']);
  });
});

describe('spec validation', () => {
  const store = {
    provider: { vault: { server: 'https://vault:8200', auth: { tokenSecretRef: { name: 't', key: 'token' } } } },
  };
  it('applies defaults and accepts a minimal store and ExternalSecret', () => {
    expect(parseSecretStoreSpec(store).provider.vault).toMatchObject({ path: 'secret', version: 'v2' });
    const es = parseExternalSecretSpec({
      secretStoreRef: { name: 's' },
      data: [{ secretKey: 'a', remoteRef: { key: 'k' } }],
    });
    expect(es).toMatchObject({
      refreshInterval: '1h',
      target: { creationPolicy: 'Owner', deletionPolicy: 'Retain' },
      secretStoreRef: { kind: 'SecretStore' },
    });
  });

  it('rejects two providers, two auth methods, empty ExternalSecrets, bad regexes and unsafe policy pairs', () => {
    expect(() => parseSecretStoreSpec({ provider: { ...store.provider, aws: { region: 'eu-west-1' } } })).toThrow(
      /exactly one provider/,
    );
    expect(() =>
      parseSecretStoreSpec({
        provider: {
          vault: {
            server: 'https://v',
            auth: {
              tokenSecretRef: { name: 't', key: 'k' },
              appRole: { secretRef: { name: 's', key: 'k' }, roleId: 'r' },
            },
          },
        },
      }),
    ).toThrow(/exactly one auth/);
    expect(() =>
      parseSecretStoreSpec({
        provider: { vault: { server: 'ftp://v', auth: { tokenSecretRef: { name: 't', key: 'k' } } } },
      }),
    ).toThrow(z.ZodError);
    expect(() => parseExternalSecretSpec({ secretStoreRef: { name: 's' } })).toThrow(/at least one of data/);
    expect(() =>
      parseExternalSecretSpec({ secretStoreRef: { name: 's' }, dataFrom: [{ find: { name: { regexp: '(' } } }] }),
    ).toThrow(/invalid regular expression/);
    // A pattern that backtracks exponentially would stall the operator for every namespace: refused up front.
    expect(() =>
      parseExternalSecretSpec({ secretStoreRef: { name: 's' }, dataFrom: [{ find: { name: { regexp: '^(a+)+$' } } }] }),
    ).toThrow(/repeated group/);
    expect(() =>
      parseExternalSecretSpec({
        secretStoreRef: { name: 's' },
        dataFrom: [{ extract: { key: 'k' }, rewrite: [{ regexp: { source: '(x*)*', target: '' } }] }],
      }),
    ).toThrow(/repeated group/);
    expect(() =>
      parseExternalSecretSpec({
        secretStoreRef: { name: 's' },
        dataFrom: [{ extract: { key: 'a' }, find: { path: 'x' } }],
      }),
    ).toThrow(/exactly one of extract, find or sourceRef.generatorRef/);
    expect(() =>
      parseExternalSecretSpec({
        secretStoreRef: { name: 's' },
        data: [{ secretKey: 'a', remoteRef: { key: 'k' } }],
        target: { creationPolicy: 'None', deletionPolicy: 'Delete' },
      }),
    ).toThrow(/deletionPolicy Delete/);
    expect(() =>
      parseExternalSecretSpec({
        secretStoreRef: { name: 's' },
        refreshInterval: 'soon',
        data: [{ secretKey: 'a', remoteRef: { key: 'k' } }],
      }),
    ).toThrow(z.ZodError);
    expect(() => parseClusterExternalSecretSpec({ externalSecretSpec: { secretStoreRef: { name: 's' } } })).toThrow(
      /namespaceSelectors or namespaces/,
    );
  });

  it('generators: ESO-shaped references, one field per data entry, and a VaultDynamicSecret spec with defaults', () => {
    const ref = { generatorRef: { apiVersion: 'strongroom.io/v1', kind: 'VaultDynamicSecret', name: 'db' } };
    const spec = parseExternalSecretSpec({
      secretStoreRef: { name: 's' },
      dataFrom: [{ sourceRef: ref, rewrite: [{ regexp: { source: '^', target: 'DB_' } }] }],
      data: [{ secretKey: 'pw', remoteRef: { key: 'password' }, sourceRef: ref }],
    });
    expect(generatorNames(spec)).toEqual(['db']);
    expect(() =>
      parseExternalSecretSpec({
        secretStoreRef: { name: 's' },
        data: [{ secretKey: 'pw', remoteRef: { key: 'password', property: 'x' }, sourceRef: ref }],
      }),
    ).toThrow(/names a field of the generated credential/);
    expect(() =>
      parseExternalSecretSpec({
        secretStoreRef: { name: 's' },
        dataFrom: [
          {
            sourceRef: { generatorRef: { ...ref.generatorRef, apiVersion: 'generators.external-secrets.io/v1alpha1' } },
          },
        ],
      }),
    ).toThrow(/generators are strongroom.io\/v1/);
    expect(parseVaultDynamicSecretSpec({ provider: { name: 'vault' }, path: '/database/creds/app' })).toEqual({
      provider: { name: 'vault', kind: 'SecretStore' },
      path: 'database/creds/app',
      method: 'GET',
      resultType: 'Data',
      revokeGracePeriod: '30s',
    });
    expect(() => parseVaultDynamicSecretSpec({ provider: { name: 'v' }, path: 'a/../b' })).toThrow();
    expect(() => parseVaultDynamicSecretSpec({ provider: { name: 'v' }, path: 'a', renewBefore: '0' })).toThrow(
      /renewBefore/,
    );
  });

  it('parses Go-style durations', () => {
    expect(parseDuration('0')).toBe(0);
    expect(parseDuration('1h30m')).toBe(5_400_000);
    expect(parseDuration('500ms')).toBe(500);
    expect(parseDuration('1.5s')).toBe(1500);
    expect(() => parseDuration('5 minutes')).toThrow();
  });
});
