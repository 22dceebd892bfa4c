import { randomUUID } from 'node:crypto';
import { createRequire } from 'node:module';
import type QRCode from 'qrcode';
import type { Barrier, Rewrapper } from '../../crypto/types.js';
import { invalid, notFound } from '../../shared/errors.js';
import type { Storage } from '../../storage/database.js';
import { createMfaRepository } from './repository.js';
import { enforcementDefinition, enforcementFromRow, methodFromRow, totpSettingsFrom } from './settings.js';
import { generateTotpKey, otpauthUrl } from './totp.js';
import type { MfaDirectory, MfaService, TotpEnrolment, TotpMethod } from './types.js';
import { totpKeyContext } from './validation.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const MAX_NAME = 255;
/** The QR encoder (and its PNG writer) loads with the first TOTP enrolment that asks for an image, not at start. */
const loadQrCode = (): typeof QRCode => createRequire(import.meta.url)('qrcode') as typeof QRCode;

/**
 * Administration of login MFA (Vault's identity/mfa/method/totp and identity/mfa/login-enforcement): methods,
 * per-entity TOTP secrets (generated here, sealed with the barrier, never readable back), enforcements. References
 * are checked as Vault checks them: enforcement method ids must exist, accessors and types must name an auth mount,
 * group and entity ids must exist.
 */
export function createMfaService(deps: {
  storage: Pick<Storage, 'db'>;
  barrier: Pick<Barrier, 'encrypt' | 'decryptWithRefresh' | 'currentTerm'>;
  directory: MfaDirectory;
  clock?: () => number;
}): MfaService & { rewrapper: Rewrapper } {
  const repo = createMfaRepository(deps.storage);
  const clock = deps.clock ?? Date.now;

  async function loadMethod(id: string): Promise<TotpMethod> {
    const row = UUID.test(id) ? await repo.readMethod(id) : undefined;
    if (!row) throw invalid(`configuration for method ID "${id}" does not exist`);
    return methodFromRow(row);
  }

  async function checkName(name: string | undefined, ownId?: string): Promise<void> {
    if (name === undefined || name === '') return;
    if (name.length > MAX_NAME || /[\s:/]/.test(name))
      throw invalid('method_name must be at most 255 characters without spaces, ":" or "/"');
    const holder = await repo.methodByName(name);
    if (holder && holder.id !== ownId)
      throw invalid(`a login MFA method configuration with the method name ${name} already exists`);
  }

  return {
    rewrapper: createMfaRewrapper(deps),

    async createTotpMethod(input) {
      const settings = totpSettingsFrom(input);
      await checkName(input.name);
      const id = randomUUID();
      await repo.insertMethod(
        { id, name: input.name ?? '', type: 'totp', settings: JSON.stringify(settings) },
        clock(),
      );
      return id;
    },

    async updateTotpMethod(id, input) {
      const row = UUID.test(id) ? await repo.readMethod(id) : undefined;
      if (!row) throw notFound(`no MFA method with ID ${id}`);
      const settings = totpSettingsFrom(input);
      await checkName(input.name, id);
      // As Vault: the name changes only when one is given.
      const name = input.name !== undefined && input.name !== '' ? input.name : row.name;
      await repo.updateMethod({ id, name, type: 'totp', settings: JSON.stringify(settings) }, clock());
    },

    async readMethod(id) {
      const row = UUID.test(id) ? await repo.readMethod(id) : undefined;
      return row ? methodFromRow(row) : undefined;
    },

    listMethods: async () => (await repo.listMethods()).map(methodFromRow),

    async deleteMethod(id) {
      if (!UUID.test(id)) return;
      for (const e of (await repo.listEnforcements()).map(enforcementFromRow)) {
        if (e.methodIds.includes(id))
          throw invalid(`methodID is still used by an enforcement configuration with ID: ${e.id}`);
      }
      await repo.deleteMethod(id);
    },

    async generateTotpSecret(methodId, entityId) {
      if (methodId === '') throw invalid('missing method ID');
      if (entityId === '') throw invalid('missing entityID');
      const method = await loadMethod(methodId);
      if (!(await deps.directory.entityExists(entityId))) throw invalid('invalid entity ID');
      if (await repo.readSecret(method.id, entityId)) return undefined;
      const s = method.settings;
      const enrolment: TotpEnrolment = { algorithm: s.algorithm, digits: s.digits, period: s.period, skew: s.skew };
      const key = generateTotpKey(s.keySize);
      try {
        // As Vault: the account name is the entity id, the label's issuer the method's.
        const url = otpauthUrl({ issuer: s.issuer, accountName: entityId, key, params: enrolment });
        const sealed = deps.barrier.encrypt(key, totpKeyContext(method.id, entityId));
        const inserted = await repo.insertSecret({
          method_id: method.id,
          entity_id: entityId,
          sealed_key: sealed,
          term: deps.barrier.currentTerm(),
          params: JSON.stringify(enrolment),
          created_at: clock(),
        });
        // A concurrent generate won: the secret it stored is the one the entity has, so this one is never shown.
        if (!inserted) return undefined;
        const barcode =
          s.qrSize > 0 ? (await loadQrCode().toBuffer(url, { type: 'png', width: s.qrSize })).toString('base64') : '';
        return { url, barcode };
      } finally {
        key.fill(0);
      }
    },

    async destroyTotpSecret(methodId, entityId) {
      if (methodId === '') throw invalid('missing method ID');
      if (entityId === '') throw invalid('missing entity ID');
      if (!(await deps.directory.entityExists(entityId))) throw invalid('invalid entity ID');
      const method = await loadMethod(methodId);
      await repo.deleteSecret(method.id, entityId);
    },

    async writeEnforcement(name, input) {
      if (name === '') throw invalid('missing enforcement name');
      if (!input.methodIds || input.methodIds.length === 0) throw invalid('missing method ids');
      for (const id of input.methodIds) {
        if (!UUID.test(id) || !(await repo.readMethod(id)))
          throw invalid("one of the provided method ids doesn't exist");
      }
      const given = [input.authMethodAccessors, input.authMethodTypes, input.identityGroupIds, input.identityEntityIds];
      const mounts = given[0]?.length || given[1]?.length ? await deps.directory.authMounts() : [];
      for (const accessor of input.authMethodAccessors ?? []) {
        if (!mounts.some((m) => m.accessor === accessor))
          throw invalid('one of the auth method accessors provided is invalid');
      }
      for (const type of input.authMethodTypes ?? []) {
        if (!mounts.some((m) => m.type === type)) throw invalid('one of the auth method types provided is invalid');
      }
      for (const id of input.identityGroupIds ?? []) {
        if (!(await deps.directory.groupExists(id))) throw invalid("one of the provided group ids doesn't exist");
      }
      for (const id of input.identityEntityIds ?? []) {
        if (!(await deps.directory.entityExists(id))) throw invalid("one of the provided entity ids doesn't exist");
      }
      const row = await repo.readEnforcement(name);
      const existing = row ? enforcementFromRow(row) : undefined;
      const merged = {
        methodIds: unique(input.methodIds),
        authMethodAccessors: unique(input.authMethodAccessors ?? existing?.authMethodAccessors ?? []),
        authMethodTypes: unique(input.authMethodTypes ?? existing?.authMethodTypes ?? []),
        identityGroupIds: unique(input.identityGroupIds ?? existing?.identityGroupIds ?? []),
        identityEntityIds: unique(input.identityEntityIds ?? existing?.identityEntityIds ?? []),
      };
      const targets =
        merged.authMethodAccessors.length +
        merged.authMethodTypes.length +
        merged.identityGroupIds.length +
        merged.identityEntityIds.length;
      if (targets === 0)
        throw invalid(
          'One of auth_method_accessors, auth_method_types, identity_group_ids, identity_entity_ids must be specified',
        );
      await repo.upsertEnforcement(
        { name, id: existing?.id ?? randomUUID(), definition: enforcementDefinition(merged) },
        clock(),
      );
    },

    async readEnforcement(name) {
      const row = await repo.readEnforcement(name);
      return row ? enforcementFromRow(row) : undefined;
    },

    listEnforcements: async () => (await repo.listEnforcements()).map(enforcementFromRow),

    deleteEnforcement: (name) => repo.deleteEnforcement(name),
  };
}

function unique(values: readonly string[]): string[] {
  return [...new Set(values)];
}

/** Moves TOTP keys sealed under an older barrier term onto the newest one (registered with the seal). */
export function createMfaRewrapper(deps: {
  storage: Pick<Storage, 'db'>;
  barrier: Pick<Barrier, 'encrypt' | 'decryptWithRefresh' | 'currentTerm'>;
}): Rewrapper {
  const repo = createMfaRepository(deps.storage);
  return {
    name: 'identity-mfa',
    async rewrapBatch(batchSize) {
      let moved = 0;
      for (const row of await repo.staleSecrets(deps.barrier.currentTerm(), batchSize)) {
        const context = totpKeyContext(row.method_id, row.entity_id);
        const key = await deps.barrier.decryptWithRefresh(row.sealed_key, context);
        try {
          const sealed = deps.barrier.encrypt(key, context);
          const next = { ...row, sealed_key: sealed, term: deps.barrier.currentTerm() };
          if (await repo.replaceSealedKey(next, row.sealed_key)) moved++;
        } finally {
          key.fill(0);
        }
      }
      return moved;
    },
    countStale: () => repo.countStaleSecrets(deps.barrier.currentTerm()),
  };
}
