import { definePath, type BackendPath, type HandlerResult } from '../../logical/backend.js';
import { f } from '../../logical/schema.js';
import { invalid } from '../../shared/errors.js';
import { enforcementView, methodView } from './settings.js';
import type { MfaService, TotpMethod, TotpSettingsInput } from './types.js';

const METHOD_ID = '(?<method_id>[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})';
// Vault's GenericNameRegex: word characters, with '-' and '.' inside.
const ENFORCEMENT_NAME = '(?<name>\\w(?:[\\w.-]*\\w)?)';

const TOTP_FIELDS = {
  method_name: f.string('The unique name of this MFA method (usable instead of its ID in MFA credentials).'),
  issuer: f.string("The name of the key's issuing organization (required)."),
  period: f.duration('Seconds per TOTP time step (default 30).'),
  key_size: f.int('Bytes of a generated key (default 20).'),
  qr_size: f.int('Pixels of the square QR code of a generated key; 0 for none (default 200).'),
  algorithm: f.string('SHA1 (default), SHA256 or SHA512.'),
  digits: f.int('Digits of a passcode: 6 (default) or 8.'),
  skew: f.int('Time steps accepted before and after the current one: 0 or 1 (default 1).'),
  max_validation_attempts: f.int('Consecutive failed validations allowed per entity and period (default 5).'),
};

const GENERATE_FIELDS = { method_id: f.string('The ID of the TOTP MFA method.') };
const ADMIN_FIELDS = {
  method_id: f.string('The ID of the TOTP MFA method.'),
  entity_id: f.string('The ID of the entity.'),
};

const ENFORCEMENT_FIELDS = {
  mfa_method_ids: f.stringList('MFA method IDs; a login must satisfy one of them (required).'),
  auth_method_accessors: f.stringList('Auth mount accessors the enforcement applies to.'),
  auth_method_types: f.stringList('Auth method types the enforcement applies to.'),
  identity_group_ids: f.stringList('Identity group IDs whose members the enforcement applies to.'),
  identity_entity_ids: f.stringList('Identity entity IDs the enforcement applies to.'),
};

type TotpInput = { [K in keyof typeof TOTP_FIELDS]?: unknown };

function settingsInput(input: TotpInput): TotpSettingsInput {
  const out: TotpSettingsInput = {};
  if (input.method_name !== undefined) out.name = String(input.method_name);
  if (input.issuer !== undefined) out.issuer = input.issuer;
  if (input.period !== undefined) out.period = input.period;
  if (input.key_size !== undefined) out.keySize = input.key_size;
  if (input.qr_size !== undefined) out.qrSize = input.qr_size;
  if (input.algorithm !== undefined) out.algorithm = input.algorithm;
  if (input.digits !== undefined) out.digits = input.digits;
  if (input.skew !== undefined) out.skew = input.skew;
  if (input.max_validation_attempts !== undefined) out.maxValidationAttempts = input.max_validation_attempts;
  return out;
}

function listing(methods: readonly TotpMethod[]): HandlerResult | undefined {
  if (methods.length === 0) return undefined;
  const keyInfo: Record<string, unknown> = {};
  for (const m of methods) keyInfo[m.id] = methodView(m);
  return { data: { keys: methods.map((m) => m.id), key_info: keyInfo } };
}

/** Vault answers a generate for an entity that already has a secret with a warning and no data. */
function generated(result: { url: string; barcode: string } | undefined, method: string): HandlerResult {
  if (!result) return { warnings: [`Entity already has a secret for MFA method "${method}"`] };
  // The URL carries the TOTP key: the audit log must HMAC it (the default), never keep it in clear.
  return { data: { url: result.url, barcode: result.barcode } };
}

/**
 * Vault's login MFA paths, relative to the identity mount (identity/): TOTP methods, per-entity secrets, login
 * enforcements. https://developer.hashicorp.com/vault/api-docs/secret/identity/mfa
 */
export function mfaPaths(deps: { mfa: MfaService }): BackendPath[] {
  const { mfa } = deps;
  const methodName = async (id: string) => (await mfa.readMethod(id))?.name ?? id;
  return [
    {
      name: 'identity.mfa.methods',
      pattern: 'mfa/method/?',
      synopsis: 'Lists the MFA methods of every type.',
      operations: { list: async () => listing(await mfa.listMethods()) },
    },
    definePath({
      name: 'identity.mfa.totp.create',
      pattern: 'mfa/method/totp/?',
      synopsis: 'Creates a TOTP MFA method (POST) or lists them (LIST).',
      fields: TOTP_FIELDS,
      operations: {
        list: async () => listing((await mfa.listMethods()).filter((m) => m.type === 'totp')),
        update: async (ctx) => ({ data: { method_id: await mfa.createTotpMethod(settingsInput(ctx.input)) } }),
      },
    }),
    definePath({
      name: 'identity.mfa.totp.generate',
      pattern: 'mfa/method/totp/generate',
      synopsis: "Generates a TOTP secret for the calling token's entity.",
      fields: GENERATE_FIELDS,
      operations: {
        update: async (ctx) => {
          const entityId = ctx.token?.entityId ?? '';
          if (entityId === '') throw invalid('missing entityID');
          const methodId = ctx.input.method_id ?? '';
          return generated(await mfa.generateTotpSecret(methodId, entityId), await methodName(methodId));
        },
      },
    }),
    definePath({
      name: 'identity.mfa.totp.admin-generate',
      pattern: 'mfa/method/totp/admin-generate',
      synopsis: 'Generates a TOTP secret for the given entity.',
      fields: ADMIN_FIELDS,
      operations: {
        update: async (ctx) => {
          const methodId = ctx.input.method_id ?? '';
          const secret = await mfa.generateTotpSecret(methodId, ctx.input.entity_id ?? '');
          return generated(secret, await methodName(methodId));
        },
      },
    }),
    definePath({
      name: 'identity.mfa.totp.admin-destroy',
      pattern: 'mfa/method/totp/admin-destroy',
      synopsis: 'Deletes the TOTP secret of the given entity for the given method.',
      fields: ADMIN_FIELDS,
      operations: {
        update: async (ctx) => void (await mfa.destroyTotpSecret(ctx.input.method_id ?? '', ctx.input.entity_id ?? '')),
      },
    }),
    definePath({
      name: 'identity.mfa.totp',
      pattern: `mfa/method/totp/${METHOD_ID}`,
      synopsis: 'Reads, updates or deletes a TOTP MFA method.',
      fields: TOTP_FIELDS,
      operations: {
        read: async (ctx) => {
          const method = await mfa.readMethod(ctx.params.method_id!);
          return method ? { data: methodView(method) } : undefined;
        },
        update: async (ctx) => void (await mfa.updateTotpMethod(ctx.params.method_id!, settingsInput(ctx.input))),
        delete: async (ctx) => void (await mfa.deleteMethod(ctx.params.method_id!)),
      },
    }),
    {
      name: 'identity.mfa.method',
      pattern: `mfa/method/${METHOD_ID}`,
      synopsis: 'Reads an MFA method of any type.',
      operations: {
        read: async (ctx) => {
          const method = await mfa.readMethod(ctx.params.method_id!);
          return method ? { data: methodView(method) } : undefined;
        },
      },
    },
    {
      name: 'identity.mfa.login-enforcements',
      pattern: 'mfa/login-enforcement/?',
      synopsis: 'Lists the login enforcements.',
      operations: {
        list: async () => {
          const all = await mfa.listEnforcements();
          if (all.length === 0) return undefined;
          const keyInfo: Record<string, unknown> = {};
          for (const e of all) keyInfo[e.name] = enforcementView(e);
          return { data: { keys: all.map((e) => e.name), key_info: keyInfo } };
        },
      },
    },
    definePath({
      name: 'identity.mfa.login-enforcement',
      pattern: `mfa/login-enforcement/${ENFORCEMENT_NAME}`,
      synopsis: 'Reads, writes or deletes a login enforcement.',
      fields: ENFORCEMENT_FIELDS,
      operations: {
        read: async (ctx) => {
          const e = await mfa.readEnforcement(ctx.params.name!);
          return e ? { data: enforcementView(e) } : undefined;
        },
        update: async (ctx) => {
          const i = ctx.input;
          await mfa.writeEnforcement(ctx.params.name!, {
            ...(i.mfa_method_ids !== undefined ? { methodIds: i.mfa_method_ids } : {}),
            ...(i.auth_method_accessors !== undefined ? { authMethodAccessors: i.auth_method_accessors } : {}),
            ...(i.auth_method_types !== undefined ? { authMethodTypes: i.auth_method_types } : {}),
            ...(i.identity_group_ids !== undefined ? { identityGroupIds: i.identity_group_ids } : {}),
            ...(i.identity_entity_ids !== undefined ? { identityEntityIds: i.identity_entity_ids } : {}),
          });
        },
        delete: async (ctx) => void (await mfa.deleteEnforcement(ctx.params.name!)),
      },
    }),
  ];
}
