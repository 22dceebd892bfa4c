/**
 * AWS Secrets Manager cannot be reached from CI, so these tests run the real SDK v3 client end to end (command
 * serialization, signing, retries, error deserialization) and replace only the last step — the HTTP request —
 * with a custom `requestHandler` that answers with canned Secrets Manager responses.
 */
import { KubeConfig } from '@kubernetes/client-node';
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import type { SecretStore } from '../api/secret-store.js';
import { RemoteNotFoundError, StoreUnavailableError } from '../types.js';
import { createAwsProvider, versionSelector } from './aws.js';

interface Seen {
  target: string;
  body: Record<string, unknown>;
  authorization: string;
}

function fakeAws(answer: (target: string, body: Record<string, unknown>) => { status: number; body: unknown }) {
  const seen: Seen[] = [];
  const requestHandler = {
    async handle(request: { headers: Record<string, string>; body?: string }) {
      const target = request.headers['x-amz-target'] ?? '';
      const body = JSON.parse(request.body ?? '{}') as Record<string, unknown>;
      seen.push({ target, body, authorization: request.headers.authorization ?? '' });
      const out = answer(target.replace('secretsmanager.', ''), body);
      return {
        response: {
          statusCode: out.status,
          headers: {
            'content-type': 'application/x-amz-json-1.1',
            ...(out.status >= 400 ? { 'x-amzn-errortype': (out.body as { __type: string }).__type } : {}),
          },
          body: Readable.from([Buffer.from(JSON.stringify(out.body))]),
        },
      };
    },
    updateHttpClientConfig() {},
    httpHandlerConfigs: () => ({}),
  };
  return { seen, requestHandler };
}

const store: SecretStore = {
  kind: 'SecretStore',
  metadata: { name: 'aws', namespace: 'ns' },
  spec: {
    refreshInterval: '5m',
    provider: {
      aws: {
        service: 'SecretsManager',
        region: 'eu-west-1',
        auth: {
          secretRef: {
            accessKeyIDSecretRef: { name: 'aws', key: 'id' },
            secretAccessKeySecretRef: { name: 'aws', key: 'secret' },
          },
        },
      },
    },
  },
};
const readSecretKey = async (ref: { key: string }) =>
  ref.key === 'id' ? 'AKIDEXAMPLE' : 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY';

describe('aws provider (SDK boundary)', () => {
  it('reads a secret by stage or VersionId, extracts JSON properties, and signs with the Secret-held credentials', async () => {
    const { seen, requestHandler } = fakeAws((target, body) => {
      if (target === 'GetSecretValue' && body.SecretId === 'prod/db') {
        return {
          status: 200,
          body: {
            Name: 'prod/db',
            VersionId: body.VersionId ?? 'v-current-uuid',
            SecretString: JSON.stringify({ user: 'app', pass: 'pw', nested: { a: 1 } }),
          },
        };
      }
      return {
        status: 400,
        body: { __type: 'ResourceNotFoundException', message: 'Secrets Manager can\u2019t find the specified secret.' },
      };
    });
    const calls: string[] = [];
    const client = await createAwsProvider({ requestHandler: requestHandler as never })({
      store,
      namespace: 'ns',
      readSecretKey,
      kubeConfig: new KubeConfig(),
      onCall: (_p, op) => calls.push(op),
    });

    expect((await client.getSecret({ key: 'prod/db', property: 'pass' })).value.toString()).toBe('pw');
    expect((await client.getSecret({ key: 'prod/db', property: 'nested.a' })).value.toString()).toBe('1');
    const map = await client.getSecretMap({ key: 'prod/db' });
    expect(Object.fromEntries(Object.entries(map.data).map(([k, v]) => [k, v.toString()]))).toEqual({
      user: 'app',
      pass: 'pw',
      nested: '{"a":1}',
    });
    expect(map.version).toBe('v-current-uuid');
    await client.getSecret({ key: 'prod/db', version: 'uuid/0b8e7c5a-1111-2222-3333-444455556666' });
    await client.getSecret({ key: 'prod/db', version: 'AWSPREVIOUS' });

    expect(seen[0]).toMatchObject({
      target: 'secretsmanager.GetSecretValue',
      body: { SecretId: 'prod/db', VersionStage: 'AWSCURRENT' },
    });
    expect(seen[3]!.body).toMatchObject({ VersionId: '0b8e7c5a-1111-2222-3333-444455556666' });
    expect(seen[4]!.body).toMatchObject({ VersionStage: 'AWSPREVIOUS' });
    expect(seen[0]!.authorization).toMatch(
      /^AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE\/\d{8}\/eu-west-1\/secretsmanager\/aws4_request/,
    );
    expect(calls.filter((c) => c === 'read')).toHaveLength(5);

    const missing = await client.getSecret({ key: 'nope' }).catch((e: unknown) => e);
    expect(missing).toBeInstanceOf(RemoteNotFoundError);
    await expect(client.getSecret({ key: 'prod/db', property: 'absent' })).rejects.toBeInstanceOf(RemoteNotFoundError);
    await client.close();
  });

  it('finds secrets by path prefix and name regex across pages', async () => {
    const { requestHandler } = fakeAws((target, body) => {
      if (target === 'ListSecrets') {
        return body.NextToken
          ? { status: 200, body: { SecretList: [{ Name: 'team/b/api' }] } }
          : {
              status: 200,
              body: {
                SecretList: [{ Name: 'team/a/db' }, { Name: 'team/a/cache' }, { Name: 'other/x' }],
                NextToken: 'page-2',
              },
            };
      }
      return {
        status: 200,
        body: { Name: body.SecretId, VersionId: 'v1', SecretString: `value-of-${String(body.SecretId)}` },
      };
    });
    const client = await createAwsProvider({ requestHandler: requestHandler as never })({
      store,
      namespace: 'ns',
      readSecretKey,
      kubeConfig: new KubeConfig(),
    });
    const found = await client.findSecrets({ path: 'team/', name: { regexp: '(db|api)$' } });
    expect(Object.fromEntries(Object.entries(found).map(([k, v]) => [k, v.toString()]))).toEqual({
      a_db: 'value-of-team/a/db',
      b_api: 'value-of-team/b/api',
    });
  });

  it('maps throttling and server errors to StoreUnavailable, never to not-found', async () => {
    const { requestHandler } = fakeAws(() => ({
      status: 500,
      body: { __type: 'InternalServiceError', message: 'boom' },
    }));
    const client = await createAwsProvider({ requestHandler: requestHandler as never, maxAttempts: 1 })({
      store,
      namespace: 'ns',
      readSecretKey,
      kubeConfig: new KubeConfig(),
    });
    await expect(client.getSecret({ key: 'x' })).rejects.toBeInstanceOf(StoreUnavailableError);
    await expect(client.validate()).rejects.toBeInstanceOf(StoreUnavailableError);
  });

  it('chooses VersionId for uuid/ prefixes and bare UUIDs, VersionStage otherwise', () => {
    expect(versionSelector(undefined)).toEqual({ VersionStage: 'AWSCURRENT' });
    expect(versionSelector('uuid/abc')).toEqual({ VersionId: 'abc' });
    expect(versionSelector('0b8e7c5a-1111-2222-3333-444455556666')).toEqual({
      VersionId: '0b8e7c5a-1111-2222-3333-444455556666',
    });
    expect(versionSelector('AWSPENDING')).toEqual({ VersionStage: 'AWSPENDING' });
  });
});
