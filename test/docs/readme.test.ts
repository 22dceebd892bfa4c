import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import YAML from 'yaml';
import { parseExternalSecretSpec } from '../../src/kubernetes/api/external-secret.js';
import { parseVaultDynamicSecretSpec } from '../../src/kubernetes/api/generator.js';
import { parseSecretStoreSpec } from '../../src/kubernetes/api/secret-store.js';
import { parseRolloutPolicy } from '../../src/kubernetes/api/rollout.js';

/**
 * The README's Kubernetes examples are what people copy first: every YAML document in it must pass the same
 * validation the operator applies (the CRDs are generated from these schemas), so the examples cannot rot.
 */
const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
// Kubernetes objects only: a YAML block without `kind` is a Strongroom config file (the transit seal stanza).
const documents = [...readme.matchAll(/```yaml\n([\s\S]*?)```/g)]
  .flatMap((m) =>
    YAML.parseAllDocuments(m[1]!).map(
      (d) => d.toJS() as { apiVersion: string; kind: string; metadata: { name: string }; spec: unknown },
    ),
  )
  .filter((d) => d !== null && typeof d === 'object' && 'kind' in d);

/** Key paths present in `input` but dropped by parsing: fields the schema (and the API server) would prune. */
function prunedPaths(input: unknown, parsed: unknown, at = 'spec'): string[] {
  if (Array.isArray(input))
    return input.flatMap((v, i) => prunedPaths(v, (parsed as unknown[] | undefined)?.[i], `${at}[${i}]`));
  if (input === null || typeof input !== 'object') return [];
  const out = (parsed ?? {}) as Record<string, unknown>;
  return Object.entries(input).flatMap(([k, v]) => (k in out ? prunedPaths(v, out[k], `${at}.${k}`) : [`${at}.${k}`]));
}

describe('README Kubernetes examples', () => {
  it('notices a misspelt field', () => {
    expect(prunedPaths({ provider: { vault: { sever: 'x' } } }, { provider: { vault: {} } })).toEqual([
      'spec.provider.vault.sever',
    ]);
  });

  it('has examples to check', () => {
    expect(documents.map((d) => d.kind)).toEqual(
      expect.arrayContaining(['SecretStore', 'ExternalSecret', 'VaultDynamicSecret']),
    );
  });

  it.each(documents.map((d) => [`${d.kind} ${d.metadata.name}`, d] as const))(
    '%s passes the operator validation',
    (_label, doc) => {
      expect(doc.apiVersion).toBe('strongroom.io/v1');
      if (doc.kind === 'SecretStore') {
        expect(prunedPaths(doc.spec, parseSecretStoreSpec(doc.spec))).toEqual([]);
      } else if (doc.kind === 'ExternalSecret') {
        const spec = parseExternalSecretSpec(doc.spec);
        expect(prunedPaths(doc.spec, spec)).toEqual([]);
        const rollout = (doc.spec as { rollout?: unknown }).rollout;
        if (rollout !== undefined)
          expect(prunedPaths(rollout, parseRolloutPolicy(rollout), 'spec.rollout')).toEqual([]);
      } else if (doc.kind === 'VaultDynamicSecret') {
        expect(prunedPaths(doc.spec, parseVaultDynamicSecretSpec(doc.spec))).toEqual([]);
      } else {
        throw new Error(`README example of an unexpected kind ${doc.kind}`);
      }
    },
  );
});
