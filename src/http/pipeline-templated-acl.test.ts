import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAccessResolver } from '../identity/access.js';
import type { IdentityResolver, IdentitySnapshot } from '../identity/types.js';
import { createPipelineHarness, errorsOf, type PipelineHarness } from '../../test/support/pipeline-harness.js';

/**
 * Templated policies through the real pipeline, with a hand-made identity store: a request is judged with the
 * token's entity resolved into the policy's templates, and sys/capabilities-self and sys/capabilities answer exactly
 * what the request check decides (they share the access resolver).
 */
const K8S = 'auth_kubernetes_tpl';
const NAMESPACES = ['team-a', 'team-b', 'team-c'];
const NS_READER = `path "secret/data/{{identity.entity.aliases.${K8S}.metadata.service_account_namespace}}/*" {
  capabilities = ["read"]
}`;

function snapshot(namespace: string, policies: string[] = []): IdentitySnapshot {
  return {
    entity: {
      id: `entity-${namespace}`,
      name: `entity_${namespace}`,
      metadata: {},
      disabled: namespace === 'disabled',
      policies,
      aliases: [
        {
          id: `alias-${namespace}`,
          name: `uid-${namespace}`,
          mountAccessor: K8S,
          metadata: { service_account_namespace: namespace, service_account_name: 'default' },
          customMetadata: {},
        },
      ],
    },
    groups: [],
  };
}

describe('pipeline: templated policies', () => {
  let h: PipelineHarness;
  const entities = new Map<string, IdentitySnapshot>();
  const tokens = new Map<string, string>();

  async function podToken(namespace: string, options: { tokenPolicies: string[]; entityPolicies?: string[] }) {
    const snap = snapshot(namespace, options.entityPolicies);
    entities.set(snap.entity.id, snap);
    const { token } = await h.tokens.issue({
      authMethod: 'kubernetes',
      path: 'auth/kubernetes/login',
      policies: options.tokenPolicies,
      entityId: snap.entity.id,
    });
    return token;
  }

  beforeAll(async () => {
    h = await createPipelineHarness();
    const identity: IdentityResolver = {
      resolveLogin: async () => {
        throw new Error('not used here');
      },
      snapshot: async (id) => entities.get(id),
    };
    // The pipeline and sys/ read `deps.access` per request: this is the store's wiring with an identity store.
    h.deps.access = createAccessResolver({ policy: h.policy, identity });
    await h.policy.write('ns-reader', NS_READER);
    for (const ns of NAMESPACES) {
      const put = await h.request('PUT', `secret/data/${ns}/db`, {
        token: h.rootToken,
        body: { data: { password: `pw-${ns}` } },
      });
      expect(put.status).toBe(200);
      tokens.set(ns, await podToken(ns, { tokenPolicies: ['ns-reader'] }));
    }
  });
  afterAll(() => h.close());

  it('lets each namespace read its own secret and nothing of another', async () => {
    for (const ns of NAMESPACES) {
      for (const other of NAMESPACES) {
        const reply = await h.request('GET', `secret/data/${other}/db`, { token: tokens.get(ns)! });
        if (other === ns) {
          expect(reply.status, `${ns} reads ${other}`).toBe(200);
          expect((reply.body as { data: { data: unknown } }).data.data).toEqual({ password: `pw-${ns}` });
        } else {
          expect(reply.status, `${ns} reads ${other}`).toBe(403);
          expect(errorsOf(reply)).toEqual(['permission denied']);
        }
      }
    }
  });

  it('answers capabilities-self and capabilities exactly as the request check decides', async () => {
    const paths = [...NAMESPACES.map((ns) => `secret/data/${ns}/db`), 'secret/data/team-a', 'secret/data/*/db'];
    for (const ns of NAMESPACES) {
      const token = tokens.get(ns)!;
      const self = await h.request('PUT', 'sys/capabilities-self', { token, body: { paths } });
      expect(self.status).toBe(200);
      const byRoot = await h.request('PUT', 'sys/capabilities', { token: h.rootToken, body: { paths, token } });
      expect(byRoot.status).toBe(200);
      for (const path of paths) {
        const read = await h.request('GET', path, { token });
        const reported = (self.body as Record<string, string[]>)[path];
        expect(reported, `${ns} on ${path}`).toEqual(read.status === 200 || read.status === 404 ? ['read'] : ['deny']);
        expect((byRoot.body as Record<string, string[]>)[path]).toEqual(reported);
      }
      expect((self.body as Record<string, string[]>)[`secret/data/${ns}/db`]).toEqual(['read']);
    }
  });

  it('resolves a templated policy that comes from the entity rather than the token', async () => {
    const token = await podToken('team-b', { tokenPolicies: [], entityPolicies: ['ns-reader'] });
    expect((await h.request('GET', 'secret/data/team-b/db', { token })).status).toBe(200);
    expect((await h.request('GET', 'secret/data/team-a/db', { token })).status).toBe(403);
    const self = await h.request('PUT', 'sys/capabilities-self', { token, body: { paths: ['secret/data/team-b/db'] } });
    expect((self.body as { capabilities: string[] }).capabilities).toEqual(['read']);
  });

  it('explains the decision with the resolved pattern and the template as written, from the identity policy', async () => {
    const token = await podToken('team-c', { tokenPolicies: [], entityPolicies: ['ns-reader'] });
    const reply = await h.request('PUT', 'sys/capabilities-explain', {
      token: h.rootToken,
      body: { token, paths: ['secret/data/team-c/db', 'secret/data/team-a/db'] },
    });
    expect(reply.status).toBe(200);
    const paths = (reply.body as { data: { paths: Record<string, unknown> } }).data.paths;
    expect(paths['secret/data/team-c/db']).toEqual({
      capabilities: ['read'],
      decided_by: 'rule',
      pattern: 'secret/data/team-c/*',
      grants_nothing: false,
      rules: [
        {
          policy: 'ns-reader',
          pattern: `secret/data/{{identity.entity.aliases.${K8S}.metadata.service_account_namespace}}/*`,
          line: 1,
          column: 1,
          capabilities: ['read'],
          conditions: [],
        },
      ],
    });
    expect(paths['secret/data/team-a/db']).toMatchObject({ capabilities: ['deny'], decided_by: 'no_rule' });
  });

  it('grants nothing through a template the token cannot resolve', async () => {
    // No entity at all: the token has only its own policies, and the template names nothing.
    const { token } = await h.tokens.issue({
      authMethod: 'kubernetes',
      path: 'auth/kubernetes/login',
      policies: ['ns-reader'],
    });
    for (const ns of NAMESPACES) {
      expect((await h.request('GET', `secret/data/${ns}/db`, { token })).status).toBe(403);
    }
    const self = await h.request('PUT', 'sys/capabilities-self', { token, body: { paths: ['secret/data/team-a/db'] } });
    expect((self.body as { capabilities: string[] }).capabilities).toEqual(['deny']);
    // A namespace value that would be a glob if substituted as written grants nothing either.
    const globby = await podToken('*', { tokenPolicies: ['ns-reader'] });
    expect((await h.request('GET', 'secret/data/team-a/db', { token: globby })).status).toBe(403);
  });

  it('refuses a policy with an unreadable template through sys/policies/acl with a 400', async () => {
    const reply = await h.request('PUT', 'sys/policies/acl/broken', {
      token: h.rootToken,
      body: { policy: 'path "secret/data/{{identity.entity.aliases}}/*" { capabilities = ["read"] }' },
    });
    expect(reply.status).toBe(400);
    expect(errorsOf(reply)).toEqual([expect.stringMatching(/^line 1, column 19: path .*invalid template/)]);
    expect((await h.request('GET', 'sys/policies/acl/broken', { token: h.rootToken })).status).toBe(404);
  });
});
