import { beforeEach, expect, it } from 'vitest';
import { describeEachEngine } from '../../test/support/engines.js';
import { isStrongroomError, type StrongroomError } from '../shared/errors.js';
import { createPolicyRepository } from './repository.js';
import { createPolicyService, type CachedPolicyService } from './service.js';
import type { PolicyIdentity } from './types.js';

const K8S = 'auth_kubernetes_5f1a9c2e';
const NAMESPACE_READER = `
path "secret/data/{{identity.entity.aliases.${K8S}.metadata.service_account_namespace}}/*" {
  capabilities = ["read"]
}
path "secret/data/shared/*" {
  capabilities = ["list"]
}
`;

function pod(namespace: string, entityId = `entity-${namespace}`): PolicyIdentity {
  return {
    entity: {
      id: entityId,
      name: `entity_${entityId}`,
      metadata: {},
      aliases: [
        {
          id: `alias-${entityId}`,
          name: `uid-${entityId}`,
          mountAccessor: K8S,
          metadata: { service_account_namespace: namespace, service_account_name: 'default' },
          customMetadata: {},
        },
      ],
    },
    groups: [],
  };
}

async function writeError(service: CachedPolicyService, text: string): Promise<StrongroomError> {
  try {
    await service.write('broken', text);
  } catch (err) {
    if (isStrongroomError(err)) return err;
    throw err;
  }
  throw new Error('the write succeeded');
}

describeEachEngine('policy service with templated policies', (ctx) => {
  let service: CachedPolicyService;
  beforeEach(() => {
    service = createPolicyService({ storage: ctx.storage(), maxCachedTemplatedAcls: 2 });
  });

  it('resolves a templated path for each identity: its own namespace, nothing of another', async () => {
    await service.write('ns-reader', NAMESPACE_READER);
    for (const ns of ['team-a', 'team-b', 'team-c']) {
      const acl = await service.acl(['ns-reader'], pod(ns));
      for (const other of ['team-a', 'team-b', 'team-c']) {
        expect(acl.allows(`secret/data/${other}/db`, 'read'), `${ns} reads ${other}`).toBe(other === ns);
      }
      expect(acl.allows('secret/data/shared/', 'list')).toBe(true);
    }
    // No identity: the templated path grants nothing, the plain one still does.
    const plain = await service.acl(['ns-reader']);
    expect(plain.allows('secret/data/team-a/db', 'read')).toBe(false);
    expect(plain.allows('secret/data/shared/', 'list')).toBe(true);
    // An identity without an alias on that mount: the same.
    const stranger = await service.acl(['ns-reader'], { ...pod('x'), entity: { ...pod('x').entity, aliases: [] } });
    expect(stranger).toBe(plain);
  });

  it('shares one ACL between identities that resolve alike, and bounds what it keeps', async () => {
    await service.write('ns-reader', NAMESPACE_READER);
    const first = await service.acl(['ns-reader'], pod('team-a', 'one'));
    // Another entity in the same namespace resolves the same paths: the same compiled ACL, no recompilation.
    expect(await service.acl(['ns-reader', 'NS-READER'], pod('team-a', 'two'))).toBe(first);
    const b = await service.acl(['ns-reader'], pod('team-b'));
    expect(b).not.toBe(first);
    expect(await service.acl(['ns-reader'], pod('team-a'))).toBe(first);
    // A third distinct resolution evicts the least recently used (team-b) in a cache of two.
    await service.acl(['ns-reader'], pod('team-c'));
    expect(await service.acl(['ns-reader'], pod('team-a'))).toBe(first);
    expect(await service.acl(['ns-reader'], pod('team-b'))).not.toBe(b);
  });

  it('serves a plain policy set with an identity from the plain cache, unchanged', async () => {
    await service.write('plain', 'path "kv/x" { capabilities = ["read"] }');
    const without = await service.acl(['plain']);
    expect(await service.acl(['plain'], pod('team-a'))).toBe(without);
  });

  it('drops resolved ACLs when a policy is written or deleted', async () => {
    await service.write('ns-reader', NAMESPACE_READER);
    expect((await service.acl(['ns-reader'], pod('team-a'))).allows('secret/data/team-a/x', 'update')).toBe(false);
    await service.write('ns-reader', NAMESPACE_READER.replace('["read"]', '["read", "update"]'));
    expect((await service.acl(['ns-reader'], pod('team-a'))).allows('secret/data/team-a/x', 'update')).toBe(true);
    await service.delete('ns-reader');
    expect((await service.acl(['ns-reader'], pod('team-a'))).allows('secret/data/team-a/x', 'read')).toBe(false);
  });

  it('refuses a template it cannot read at write, naming line and column, and stores nothing', async () => {
    const unknown = await writeError(
      service,
      'path "a" { capabilities = ["read"] }\n  path "secret/{{identity.entity.nope}}/*" {\n capabilities = ["read"] }',
    );
    expect(unknown.kind).toBe('invalid');
    expect(unknown.message).toMatch(
      /^line 2, column 16: path "secret\/\{\{identity\.entity\.nope\}\}\/\*": invalid template/,
    );
    // The column is the directive's, inside the pattern: where the editor puts the mark.
    expect(unknown.details).toEqual({ line: 2, column: 16 });

    const unbalanced = await writeError(service, 'path "secret/{{identity.entity.id}/*" { capabilities = ["read"] }');
    expect(unbalanced.message).toMatch(
      /^line 1, column 14: .*unbalanced templating characters.*character 8 of the path/,
    );
    // The JSON form is checked the same way.
    const json = await writeError(service, '{"path": {"secret/}}": {"capabilities": ["read"]}}}');
    expect(json.message).toMatch(/^line 1, column 19: .*unbalanced/);
    expect(await service.list()).not.toContain('broken');
  });

  it('still loads a stored document whose template this version refuses; that path grants nothing', async () => {
    // As if written by a version that took '{{' literally: straight into the table.
    await createPolicyRepository(ctx.storage()).put(
      'legacy',
      'path "kv/{{identity.entity.nope}}" { capabilities = ["read"] }\npath "kv/ok" { capabilities = ["read"] }',
      Date.now(),
    );
    await service.refresh();
    expect((await service.read('legacy')).rules).toHaveLength(2);
    const acl = await service.acl(['legacy'], pod('team-a'));
    expect(acl.allows('kv/ok', 'read')).toBe(true);
    expect(acl.allows('kv/{{identity.entity.nope}}', 'read')).toBe(false);
    await service.delete('legacy');
  });
});
