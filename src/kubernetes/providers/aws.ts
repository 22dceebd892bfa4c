/**
 * AWS Secrets Manager through SDK v3. Versions: `uuid/<VersionId>` (or a bare UUID) selects a VersionId, anything
 * else a VersionStage (default AWSCURRENT). `property` extracts a key from a JSON SecretString.
 */
import {
  GetSecretValueCommand,
  ListSecretsCommand,
  SecretsManagerClient,
  type SecretsManagerClientConfig,
} from '@aws-sdk/client-secrets-manager';
import { StrongroomError, forbidden } from '../../shared/errors.js';
import {
  RemoteNotFoundError,
  StoreUnavailableError,
  type FindSpec,
  type Provider,
  type ProviderContext,
  type RemoteRef,
  type SecretsClient,
} from '../types.js';
import { encodeValue, pickProperty } from './values.js';
import { compileUserRegex } from '../api/user-regex.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Tests (and only tests) swap the HTTP layer through this: AWS itself cannot be reached from CI. */
export type AwsConfigOverride = Partial<SecretsManagerClientConfig>;

export function versionSelector(version: string | undefined): { VersionId?: string; VersionStage?: string } {
  if (!version) return { VersionStage: 'AWSCURRENT' };
  if (version.startsWith('uuid/')) return { VersionId: version.slice(5) };
  if (UUID.test(version)) return { VersionId: version };
  return { VersionStage: version };
}

export function createAwsProvider(override: AwsConfigOverride = {}): Provider {
  return async (ctx: ProviderContext) => {
    const spec = ctx.store.spec.provider.aws!;
    const creds = spec.auth?.secretRef;
    const config: SecretsManagerClientConfig = {
      region: spec.region,
      maxAttempts: 2,
      ...(spec.endpoint ? { endpoint: spec.endpoint } : {}),
      ...(creds
        ? {
            credentials: {
              accessKeyId: (await ctx.readSecretKey(creds.accessKeyIDSecretRef)).trim(),
              secretAccessKey: (await ctx.readSecretKey(creds.secretAccessKeySecretRef)).trim(),
              ...(creds.sessionTokenSecretRef
                ? { sessionToken: (await ctx.readSecretKey(creds.sessionTokenSecretRef)).trim() }
                : {}),
            },
          }
        : {}),
      ...override,
    };
    const sm = new SecretsManagerClient(config);
    const count = (op: string) => ctx.onCall?.('aws', op);

    const translate = (err: unknown, what: string): never => {
      const e = err as { name?: string; $metadata?: { httpStatusCode?: number }; message?: string };
      if (e.name === 'ResourceNotFoundException')
        throw new RemoteNotFoundError(`${what} not found in AWS Secrets Manager`);
      if (e.name === 'AccessDeniedException' || e.name === 'UnrecognizedClientException')
        throw forbidden(`AWS denied access to ${what}`);
      if (e.name === 'InvalidRequestException' || e.name === 'InvalidParameterException')
        throw new StrongroomError('invalid', `AWS rejected the request for ${what}: ${e.message ?? e.name}`);
      throw new StoreUnavailableError(`AWS Secrets Manager call for ${what} failed: ${e.name ?? 'error'}`);
    };

    const fetchRaw = async (ref: RemoteRef): Promise<{ text: string; binary?: Buffer; version?: string }> => {
      count('read');
      try {
        const out = await sm.send(new GetSecretValueCommand({ SecretId: ref.key, ...versionSelector(ref.version) }));
        const binary = out.SecretBinary ? Buffer.from(out.SecretBinary) : undefined;
        return {
          text: out.SecretString ?? binary?.toString('utf8') ?? '',
          ...(binary ? { binary } : {}),
          ...(out.VersionId ? { version: out.VersionId } : {}),
        };
      } catch (err) {
        return translate(err, `secret "${ref.key}"`);
      }
    };
    const asJson = (text: string, key: string): Record<string, unknown> => {
      try {
        const parsed: unknown = JSON.parse(text);
        if (parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed))
          return parsed as Record<string, unknown>;
      } catch {
        // handled below
      }
      throw new StrongroomError('invalid', `secret "${key}" is not a JSON object, so a property cannot be extracted`);
    };

    const client: SecretsClient = {
      async getSecret(ref) {
        const raw = await fetchRaw(ref);
        const value = ref.property
          ? pickProperty(asJson(raw.text, ref.key), ref.property, ref.key)
          : (raw.binary ?? Buffer.from(raw.text, 'utf8'));
        return { value, ...(raw.version ? { version: raw.version } : {}) };
      },
      async getSecretMap(ref) {
        const raw = await fetchRaw(ref);
        let obj = asJson(raw.text, ref.key);
        if (ref.property) obj = asJson(pickProperty(obj, ref.property, ref.key).toString('utf8'), ref.key);
        const data = Object.fromEntries(Object.entries(obj).map(([k, v]) => [k, encodeValue(v)]));
        return { data, ...(raw.version ? { version: raw.version } : {}) };
      },
      async findSecrets(find: FindSpec) {
        const re = find.name ? compileUserRegex(find.name.regexp) : undefined;
        const names: string[] = [];
        let token: string | undefined;
        do {
          count('list');
          try {
            const page = await sm.send(
              new ListSecretsCommand({
                NextToken: token,
                MaxResults: 100,
                ...(find.path ? { Filters: [{ Key: 'name', Values: [find.path] }] } : {}),
              }),
            );
            for (const s of page.SecretList ?? []) if (s.Name) names.push(s.Name);
            token = page.NextToken;
          } catch (err) {
            return translate(err, 'the secret list');
          }
        } while (token && names.length < 10_000);
        const out: Record<string, Buffer> = {};
        for (const name of names) {
          if (find.path && !name.startsWith(find.path)) continue;
          const rel = find.path ? name.slice(find.path.length).replace(/^\/+/, '') : name;
          if (re && !re.test(rel)) continue;
          out[rel.replaceAll('/', '_')] = (await client.getSecret({ key: name })).value;
        }
        return out;
      },
      async validate() {
        count('validate');
        try {
          await sm.send(new ListSecretsCommand({ MaxResults: 1 }));
        } catch (err) {
          const e = err as { name?: string };
          if (e.name === 'AccessDeniedException') return; // authenticated; listing is just not granted
          translate(err, 'the store');
        }
      },
      async close() {
        sm.destroy();
      },
    };
    return client;
  };
}

export const awsProvider: Provider = createAwsProvider();
