import { hash } from 'node:crypto';
import type { Barrier } from '../crypto/types.js';
import type { Mount } from '../mounts/types.js';
import { invalid, notFound } from '../shared/errors.js';
import type { Storage } from '../storage/database.js';
import { isJsonObject, mergePatch, subkeysOf } from './json.js';
import { validateListPrefix, validateSecretPath } from './paths.js';
import {
  UNVERSIONED,
  casOption,
  checkCas,
  defaultConfig,
  diffData,
  isDeleted,
  kvContext,
  metadataFields,
  parseCustomMetadata,
  refuseVersionedHistory,
  requireKvMount,
  toVersionInfo,
} from './secret-rules.js';
import { createVersionStore } from './versions.js';
import { createKvRepository, type KvConfigTable, type KvQueries } from './repository.js';
import type { KvLimits, KvMountConfig, KvService, SecretMetadata } from './types.js';
import {
  DEFAULT_MAX_DATA_BYTES,
  checkBoolean,
  checkCustomMetadata,
  checkNonNegativeInteger,
  checkVersionList,
  checkVersionNumber,
  serializeData,
} from './validation.js';

/** Rows per list query; a folder skips the rest of its subtree with one range jump. */
const LIST_BATCH = 256;
/** Above every character a path may contain (all ASCII below 0x7f): "prefix + this" bounds a prefix range. */
const AFTER_ALL_PATH_CHARS = '\u007f';

export interface KvServiceDeps {
  storage: Storage;
  barrier: Barrier;
  limits?: Partial<KvLimits>;
  /** Clock (epoch ms); tests move it to exercise delete_version_after. */
  now?: () => number;
}

export function createKvService(deps: KvServiceDeps): KvService {
  const repo = createKvRepository(deps.storage);
  const barrier = deps.barrier;
  const maxDataBytes = deps.limits?.maxDataBytes ?? DEFAULT_MAX_DATA_BYTES;
  const clock = deps.now ?? Date.now;
  const { lockOrCreate, lockOrCreateNow, open, appendVersion, appendVersionNow, liveVersion } = createVersionStore({
    barrier,
    clock,
  });

  async function loadConfig(q: KvQueries, mount: Mount): Promise<KvConfigTable> {
    return (await q.readConfig(mount.uuid)) ?? defaultConfig(mount.uuid);
  }

  const service: KvService = {
    async readConfig(mount) {
      requireKvMount(mount);
      const row = await loadConfig(repo, mount);
      return {
        maxVersions: row.max_versions,
        casRequired: row.cas_required === 1,
        deleteVersionAfter: row.delete_version_after,
      };
    },

    async writeConfig(mount, config) {
      requireKvMount(mount);
      const maxVersions =
        config.maxVersions === undefined ? undefined : checkNonNegativeInteger(config.maxVersions, 'max_versions');
      const casRequired =
        config.casRequired === undefined ? undefined : checkBoolean(config.casRequired, 'cas_required');
      const deleteAfter =
        config.deleteVersionAfter === undefined
          ? undefined
          : checkNonNegativeInteger(config.deleteVersionAfter, 'delete_version_after');
      await repo.transaction(async (q) => {
        const current = await loadConfig(q, mount);
        await q.upsertConfig({
          mount_uuid: mount.uuid,
          max_versions: maxVersions ?? current.max_versions,
          cas_required: casRequired === undefined ? current.cas_required : casRequired ? 1 : 0,
          delete_version_after: deleteAfter ?? current.delete_version_after,
        });
      });
    },

    async write(mount, path, data, options) {
      requireKvMount(mount);
      validateSecretPath(path);
      const cas = casOption(options);
      const plaintext = serializeData(data, maxDataBytes);
      // SQLite: one synchronous step of the turn's batched transaction (see storage/write-batch.ts).
      if (repo.batchWrite) {
        return repo.batchWrite(mount.uuid, path, (q) => {
          const config = q.readConfig(mount.uuid) ?? defaultConfig(mount.uuid);
          const secret = lockOrCreateNow(q, mount, path);
          checkCas(config, secret, cas);
          return appendVersionNow(q, mount, path, secret, config, plaintext);
        });
      }
      return repo.transaction(async (q) => {
        const config = await loadConfig(q, mount);
        const secret = await lockOrCreate(q, mount, path);
        checkCas(config, secret, cas);
        return appendVersion(q, mount, path, secret, config, plaintext);
      });
    },

    async patch(mount, path, data, options) {
      requireKvMount(mount);
      validateSecretPath(path);
      const cas = casOption(options);
      if (!isJsonObject(data)) throw invalid('patch data must be a JSON object', { reason: 'data_not_object' });
      return repo.transaction(async (q) => {
        const secret = await q.lockSecret(mount.uuid, path);
        if (!secret || secret.current_version === 0) throw notFound('no secret at this path');
        const config = await loadConfig(q, mount);
        checkCas(config, secret, cas);
        const { row } = await liveVersion(q, mount, path, secret, secret.current_version);
        const merged = mergePatch(await open(row.ciphertext, mount, path, row.version), data);
        return appendVersion(q, mount, path, secret, config, serializeData(merged, maxDataBytes));
      });
    },

    async read(mount, path, version) {
      requireKvMount(mount);
      validateSecretPath(path);
      const wanted = version === undefined ? 0 : checkVersionNumber(version, 'version', true);
      const row = await repo.readVersion(mount.uuid, path, wanted);
      if (!row) throw notFound('no secret at this path');
      if (row.version === null || row.created_time === null || row.deletion_time === null || row.destroyed === null) {
        throw notFound(
          wanted === 0 ? 'this secret has no versions' : `version ${wanted} of this secret does not exist`,
        );
      }
      const metadata = toVersionInfo(
        {
          version: row.version,
          created_time: row.created_time,
          deletion_time: row.deletion_time,
          destroyed: row.destroyed,
        },
        parseCustomMetadata(row.custom_metadata),
      );
      if (metadata.destroyed) throw notFound(`version ${row.version} of this secret has been destroyed`, { metadata });
      if (isDeleted(row as { deletion_time: number }, clock())) {
        throw notFound(`version ${row.version} of this secret is deleted`, { metadata });
      }
      const data = await open(row.ciphertext, mount, path, row.version);
      // Taken last, once everything is read (the row, the keyring): every commit this answer could rest on is
      // counted in it; commits after only add to the wait.
      const durableAfter = repo.horizon(mount.uuid, path);
      // open() has thrown for a destroyed version (no ciphertext), so there is one to identify the record by.
      return {
        data,
        metadata,
        recordDigest: hash('sha256', row.ciphertext!, 'base64'),
        ...(durableAfter !== undefined ? { durableAfter } : {}),
      };
    },

    async deleteLatest(mount, path) {
      requireKvMount(mount);
      validateSecretPath(path);
      await repo.transaction(async (q) => {
        const secret = await q.lockSecret(mount.uuid, path);
        // Nothing to delete is not an error (Vault answers 204).
        if (!secret || secret.current_version === 0) return;
        await q.softDelete(secret.id, [secret.current_version], clock());
      });
    },

    async deleteVersions(mount, path, versions) {
      requireKvMount(mount);
      validateSecretPath(path);
      const list = checkVersionList(versions);
      await repo.transaction(async (q) => {
        const secret = await q.lockSecret(mount.uuid, path);
        if (secret) await q.softDelete(secret.id, list, clock());
      });
    },

    async undeleteVersions(mount, path, versions) {
      requireKvMount(mount);
      validateSecretPath(path);
      const list = checkVersionList(versions);
      await repo.transaction(async (q) => {
        const secret = await q.lockSecret(mount.uuid, path);
        if (secret) await q.undelete(secret.id, list);
      });
    },

    async destroyVersions(mount, path, versions) {
      requireKvMount(mount);
      validateSecretPath(path);
      const list = checkVersionList(versions);
      await repo.transaction(async (q) => {
        const secret = await q.lockSecret(mount.uuid, path);
        if (secret) await q.destroy(secret.id, list);
      });
    },

    async readMetadata(mount, path) {
      requireKvMount(mount);
      validateSecretPath(path);
      const secret = await repo.findSecret(mount.uuid, path);
      if (!secret) throw notFound('no secret at this path');
      const rows = await repo.listVersionMeta(secret.id);
      const versions: SecretMetadata['versions'] = {};
      for (const row of rows) {
        versions[row.version] = {
          createdTime: row.created_time,
          deletionTime: row.deletion_time,
          destroyed: row.destroyed === 1,
        };
      }
      return {
        casRequired: secret.cas_required === 1,
        createdTime: secret.created_time,
        currentVersion: secret.current_version,
        customMetadata: parseCustomMetadata(secret.custom_metadata),
        deleteVersionAfter: secret.delete_version_after,
        maxVersions: secret.max_versions,
        oldestVersion: secret.oldest_version,
        updatedTime: secret.updated_time,
        versions,
      };
    },

    async exists(mount, path) {
      requireKvMount(mount);
      validateSecretPath(path);
      // The hot read's statement (cached while the database is unchanged): a row means the secret row exists,
      // whatever state its versions are in, as readMetadata would find it.
      return (await repo.readVersion(mount.uuid, path, 0)) !== undefined;
    },

    async writeMetadata(mount, path, input) {
      requireKvMount(mount);
      validateSecretPath(path);
      const fields = metadataFields(input);
      let customMetadata: string | null | undefined;
      if (input.customMetadata !== undefined) {
        customMetadata =
          input.customMetadata === null ? null : JSON.stringify(checkCustomMetadata(input.customMetadata));
      }
      await repo.transaction(async (q) => {
        const secret = await lockOrCreate(q, mount, path);
        const update = customMetadata === undefined ? fields : { ...fields, custom_metadata: customMetadata };
        if (Object.keys(update).length > 0) await q.updateSecret(secret.id, update);
      });
    },

    async patchMetadata(mount, path, input) {
      requireKvMount(mount);
      validateSecretPath(path);
      const fields = metadataFields(input);
      const patch = input.customMetadata;
      if (patch !== undefined && patch !== null) checkCustomMetadata(patch, true);
      await repo.transaction(async (q) => {
        const secret = await q.lockSecret(mount.uuid, path);
        if (!secret) throw notFound('no secret at this path');
        const update: Parameters<KvQueries['updateSecret']>[1] = { ...fields };
        if (patch !== undefined) {
          const merged =
            patch === null
              ? null
              : (mergePatch(parseCustomMetadata(secret.custom_metadata) ?? {}, patch) as Record<string, string>);
          // The merged map must itself obey the limits (a patch can push it past 64 keys).
          if (merged !== null) checkCustomMetadata(merged);
          update.custom_metadata = merged === null ? null : JSON.stringify(merged);
        }
        if (Object.keys(update).length > 0) await q.updateSecret(secret.id, update);
      });
    },

    async deleteMetadata(mount, path) {
      requireKvMount(mount);
      validateSecretPath(path);
      await repo.transaction(async (q) => {
        const secret = await q.lockSecret(mount.uuid, path);
        if (secret) await q.deleteSecret(secret.id);
      });
    },

    async list(mount, prefix) {
      requireKvMount(mount, 'any');
      const folder = validateListPrefix(prefix);
      const upper = folder + AFTER_ALL_PATH_CHARS;
      const keys = new Set<string>();
      let cursor = folder;
      // Walks the (mount_uuid, path) index in order. A direct child is collected; on reaching a subfolder the scan
      // jumps past its whole subtree, so the cost follows the number of direct children, not of descendants.
      for (;;) {
        const batch = await repo.pathsBetween(mount.uuid, cursor, upper, LIST_BATCH);
        let jumped = false;
        for (const path of batch) {
          const rest = path.slice(folder.length);
          const slash = rest.indexOf('/');
          if (slash === -1) {
            keys.add(rest);
            cursor = path;
          } else {
            const child = rest.slice(0, slash + 1);
            keys.add(child);
            cursor = folder + child + AFTER_ALL_PATH_CHARS;
            jumped = true;
            break;
          }
        }
        if (!jumped && batch.length < LIST_BATCH) break;
      }
      // An empty folder is an empty list; the HTTP layer answers it 404 as Vault does (http/pipeline.ts).
      return [...keys].sort();
    },

    async subkeys(mount, path, options) {
      const depth = options?.depth === undefined ? 0 : checkNonNegativeInteger(options.depth, 'depth');
      const { data, metadata } = await service.read(mount, path, options?.version);
      return { subkeys: subkeysOf(data, depth), metadata };
    },

    async rollback(mount, path, version, options) {
      requireKvMount(mount);
      validateSecretPath(path);
      checkVersionNumber(version, 'version');
      const cas = casOption(options);
      return repo.transaction(async (q) => {
        const secret = await q.lockSecret(mount.uuid, path);
        if (!secret || secret.current_version === 0) throw notFound('no secret at this path');
        const config = await loadConfig(q, mount);
        checkCas(config, secret, cas);
        const row = await q.getVersion(secret.id, version);
        if (!row) throw notFound(`version ${version} of this secret does not exist`);
        if (row.destroyed === 1 || isDeleted(row, clock())) {
          throw invalid(
            `cannot roll back to version ${version}: it is ${row.destroyed === 1 ? 'destroyed' : 'deleted'}`,
            {
              reason: 'version_not_live',
            },
          );
        }
        const data = await open(row.ciphertext, mount, path, version);
        return appendVersion(q, mount, path, secret, config, serializeData(data, Number.MAX_SAFE_INTEGER));
      });
    },

    async diff(mount, path, from, to, options) {
      checkVersionNumber(from, 'from', true);
      checkVersionNumber(to, 'to', true);
      const [a, b] = await Promise.all([service.read(mount, path, from), service.read(mount, path, to)]);
      return diffData(a.metadata.version, a.data, b.metadata.version, b.data, options?.showValues === true);
    },

    async readUnversioned(mount, path) {
      requireKvMount(mount, 1);
      validateSecretPath(path);
      const row = await repo.readVersion(mount.uuid, path, UNVERSIONED);
      if (!row || row.version === null) throw notFound('no secret at this path');
      return open(row.ciphertext, mount, path, UNVERSIONED);
    },

    async writeUnversioned(mount, path, data) {
      requireKvMount(mount, 1);
      validateSecretPath(path);
      const plaintext = serializeData(data, maxDataBytes);
      await repo.transaction(async (q) => {
        const secret = await lockOrCreate(q, mount, path);
        refuseVersionedHistory(secret);
        const now = clock();
        // Same binding as a v2 version 1 (mount, path, 1): the upgrade to v2 needs no re-encryption.
        const ciphertext = barrier.encrypt(plaintext, kvContext(mount.uuid, path, UNVERSIONED));
        plaintext.fill(0);
        const row = { created_time: now, deletion_time: 0, destroyed: 0, ciphertext, term: barrier.termOf(ciphertext) };
        if (!(await q.overwriteVersion(secret.id, UNVERSIONED, row))) {
          await q.insertVersion({ secret_id: secret.id, version: UNVERSIONED, ...row });
        }
        await q.updateSecret(secret.id, {
          current_version: UNVERSIONED,
          oldest_version: UNVERSIONED,
          updated_time: now,
        });
      });
    },

    async deleteUnversioned(mount, path) {
      requireKvMount(mount, 1);
      validateSecretPath(path);
      await repo.transaction(async (q) => {
        const secret = await q.lockSecret(mount.uuid, path);
        if (!secret) return;
        refuseVersionedHistory(secret);
        await q.deleteSecret(secret.id);
      });
    },

    async purgeMount(mount) {
      await repo.transaction((q) => q.purgeMount(mount.uuid));
    },
  };
  return service;
}

export type { KvMountConfig };
