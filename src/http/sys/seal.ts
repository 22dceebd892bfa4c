import { ALREADY_INITIALIZED } from '../../crypto/lifecycle.js';
import type { SealStatus } from '../../crypto/types.js';
import { StrongroomError, invalid, isStrongroomError } from '../../shared/errors.js';
import { runHealthChecks } from '../../shared/health.js';
import { definePath, type BackendPath } from '../../logical/backend.js';
import { f } from '../../logical/schema.js';
import type { HttpDeps } from '../deps.js';

export const VERSION = '0.1.0';

/**
 * Vault's seal lifecycle endpoints: sys/health, sys/seal-status, sys/init, sys/unseal (served while sealed, no
 * token), sys/seal (sudo). They answer with Vault's raw bodies, not the envelope.
 * https://developer.hashicorp.com/vault/api-docs/system/health (and init, unseal, seal-status, seal)
 */
export function sealPaths(
  deps: Pick<HttpDeps, 'seal' | 'tokens' | 'lifecycle' | 'metrics' | 'healthChecks'>,
): BackendPath[] {
  const { seal, tokens, lifecycle, metrics } = deps;
  const healthChecks = deps.healthChecks ?? [];
  const rewrap: RewrapProgress = { current: null, done: 0, total: 0, error: null };
  return [
    {
      name: 'sys.health',
      pattern: 'health',
      unauthenticated: true,
      allowSealed: true,
      skipAudit: true,
      synopsis: 'Whether the store is initialized, unsealed and healthy, as an HTTP status code.',
      // Documented only: the codes are read by healthCode, whose message names them as HTTP status codes.
      queryFields: Object.fromEntries(
        ['activecode', 'sealedcode', 'uninitcode', 'unhealthycode', 'standbycode', 'standbyok'].map((name) => [
          name,
          f.string(`The status code to answer with instead of the default (${name}).`),
        ]),
      ),
      operations: {
        read: async (ctx) => {
          const [status, report] = await Promise.all([seal.status(), runHealthChecks(healthChecks)]);
          const code = healthCode(status, report.healthy, ctx.query);
          return {
            status: code,
            raw: {
              initialized: status.initialized,
              sealed: status.sealed,
              standby: false,
              performance_standby: false,
              replication_performance_mode: 'disabled',
              replication_dr_mode: 'disabled',
              server_time_utc: Math.floor(Date.now() / 1000),
              version: VERSION,
              cluster_name: 'strongroom',
              cluster_id: '',
              // Ours, not Vault's: what else was checked (storage, ...), each with why it fails.
              checks: report.checks,
            },
          };
        },
      },
    },
    {
      name: 'sys.seal-status',
      pattern: 'seal-status',
      synopsis: 'Seal status: sealed or not, threshold and progress of an unseal.',
      unauthenticated: true,
      allowSealed: true,
      skipAudit: true,
      operations: { read: async () => ({ raw: sealStatusBody(await seal.status()) }) },
    },
    definePath({
      name: 'sys.init',
      pattern: 'init',
      unauthenticated: true,
      allowSealed: true,
      auditIfAvailable: true,
      synopsis: 'Initializes the store: Shamir shares of the root key, and the root token.',
      fields: {
        secret_shares: f.int('How many key shares to split the root key into.'),
        secret_threshold: f.int('How many shares it takes to unseal.'),
        recovery_shares: f.int('Transit seal: how many recovery key shares to make (default 5).'),
        recovery_threshold: f.int('Transit seal: how many recovery shares it takes (default 3).'),
      },
      operations: {
        read: async () => ({ raw: { initialized: (await seal.status()).initialized } }),
        update: async (ctx) => {
          const before = await seal.status();
          if (before.initialized) throw alreadyInitialized();
          if (before.type === 'transit') return initTransit(ctx.input.recovery_shares, ctx.input.recovery_threshold);
          const { secret_shares: shares, secret_threshold: threshold } = ctx.input;
          if (shares === undefined || threshold === undefined) {
            throw invalid('fields "secret_shares" and "secret_threshold" are required');
          }
          if ((await seal.status()).initialized) throw alreadyInitialized();
          // As Vault: the store stays sealed after init; the root token is minted while init still holds the keys.
          const minted: { root?: { token: string } } = {};
          const result = await seal
            .initShamir({ shares, threshold }, async () => {
              minted.root = await tokens.createRoot();
            })
            .catch((err: unknown) => {
              // Lost a race with a concurrent init (here or on another replica): the same answer as the check above.
              throw isStrongroomError(err) && err.details?.reason === ALREADY_INITIALIZED ? alreadyInitialized() : err;
            });
          metrics.setSealed(true);
          const root = minted.root;
          if (!root) throw new StrongroomError('internal', 'init did not mint a root token');
          return {
            raw: {
              keys: result.shares.map((s) => Buffer.from(s, 'base64').toString('hex')),
              keys_base64: result.shares,
              root_token: root.token,
            },
            // The audit log must not carry the shares or the root token in clear: hand them to the HMAC redactor.
            data: { keys_base64: result.shares, root_token: root.token },
          };
        },
      },
    }),
    definePath({
      name: 'sys.unseal',
      pattern: 'unseal',
      unauthenticated: true,
      allowSealed: true,
      rateLimited: true,
      auditIfAvailable: true,
      synopsis: 'Submits one unseal key share (hex or base64).',
      fields: {
        key: f.string('One unseal key share, hex or base64.'),
        reset: f.bool('Discards the shares submitted so far.'),
        migrate: f.bool(
          'Seal migration: the key is towards migrating to the configured seal (Vault: unseal -migrate).',
        ),
      },
      operations: {
        update: async (ctx) => {
          if (ctx.input.reset) {
            seal.resetUnseal();
            return { raw: sealStatusBody(await seal.status()) };
          }
          const key = ctx.input.key;
          if (!key) throw invalid('field "key" is required (or "reset": true)');
          const before = await seal.status();
          if (!before.initialized) throw invalid('Strongroom is not initialized');
          if (!before.sealed) return { raw: sealStatusBody(before) };
          const after = await seal.submitShare(normalizeShare(key), { migrate: ctx.input.migrate === true });
          if (!after.sealed) {
            await lifecycle.afterUnseal();
            metrics.setSealed(false);
          }
          return { raw: sealStatusBody(after) };
        },
      },
    }),
    {
      name: 'sys.seal',
      pattern: 'seal',
      synopsis: 'Seals the store: nothing but the seal lifecycle is served until it is unsealed.',
      sudo: true,
      auditIfAvailable: true,
      operations: {
        update: async () => {
          await lifecycle.beforeSeal();
          await seal.seal();
          metrics.setSealed(true);
        },
      },
    },
    {
      name: 'sys.rotate',
      pattern: 'rotate',
      synopsis: 'Adds a new keyring term: new writes use it, older terms still decrypt.',
      sudo: true,
      operations: {
        update: async () => {
          await seal.rotate();
        },
      },
    },
    {
      name: 'sys.key-status',
      pattern: 'key-status',
      synopsis: 'The current keyring term.',
      operations: {
        read: async () => {
          const status = await seal.status();
          return { data: { term: status.term, encryptions: null } };
        },
      },
    },
    {
      name: 'sys.rewrap',
      pattern: 'rewrap',
      synopsis: 'Re-encrypts every record with the newest keyring term.',
      sudo: true,
      operations: {
        update: async () => {
          // One rewrap at a time per server; a second request joins the running one instead of racing it.
          const run = rewrap.current ?? startRewrap();
          const { rewrapped } = await run;
          return { data: { rewrapped, term: seal.barrier.currentTerm() } };
        },
      },
    },
    {
      // Ours: progress of the rewrap this server is running (or ran last), for progress bars.
      name: 'sys.rewrap.status',
      pattern: 'rewrap/status',
      synopsis: 'Progress of the rewrap this server runs.',
      sudo: true,
      operations: {
        read: async () => ({
          data: {
            running: rewrap.current !== null,
            done: rewrap.done,
            total: rewrap.total,
            term: seal.barrier.isSealed() ? 0 : seal.barrier.currentTerm(),
            error: rewrap.error,
          },
        }),
      },
    },
  ];

  /**
   * Init with a transit seal, as Vault's auto-unseal: no unseal keys (the unsealer holds the key), recovery keys
   * instead (default 5 shares, threshold 3), and the store is left unsealed.
   */
  async function initTransit(recoveryShares = 5, recoveryThreshold = 3) {
    const minted: { root?: { token: string } } = {};
    const result = await seal
      .initTransit({ recoveryShares, recoveryThreshold }, async () => {
        minted.root = await tokens.createRoot();
      })
      .catch((err: unknown) => {
        throw isStrongroomError(err) && err.details?.reason === ALREADY_INITIALIZED ? alreadyInitialized() : err;
      });
    await lifecycle.afterUnseal();
    metrics.setSealed(false);
    const root = minted.root;
    if (!root) throw new StrongroomError('internal', 'init did not mint a root token');
    const recovery = result.recoveryShares ?? [];
    return {
      raw: {
        keys: [],
        keys_base64: [],
        recovery_keys: recovery.map((s) => Buffer.from(s, 'base64').toString('hex')),
        recovery_keys_base64: recovery,
        root_token: root.token,
      },
      data: { recovery_keys_base64: recovery, root_token: root.token },
    };
  }

  function startRewrap(): Promise<{ rewrapped: number }> {
    rewrap.done = 0;
    rewrap.total = 0;
    rewrap.error = null;
    const run = seal
      .rewrap((done, total) => {
        rewrap.done = done;
        rewrap.total = total;
      })
      .catch((err: unknown) => {
        rewrap.error = err instanceof StrongroomError ? err.message : 'rewrap failed; see the server log';
        throw err;
      })
      .finally(() => {
        rewrap.current = null;
      });
    rewrap.current = run;
    return run;
  }
}

interface RewrapProgress {
  current: Promise<{ rewrapped: number }> | null;
  done: number;
  total: number;
  error: string | null;
}

export function sealStatusBody(status: SealStatus): Record<string, unknown> {
  return {
    type: status.type,
    initialized: status.initialized,
    sealed: status.sealed,
    t: status.t,
    n: status.n,
    progress: status.progress,
    nonce: status.nonce,
    version: VERSION,
    build_date: '',
    migration: status.migration,
    recovery_seal: status.recoverySeal,
    storage_type: 'sql',
    // Vault names its cluster once unsealed; ours is the same name sys/health reports.
    ...(status.sealed ? {} : { cluster_name: 'strongroom', cluster_id: '' }),
  };
}

/**
 * Vault's health status codes, each overridable by a query parameter (e.g. ?sealedcode=200 for probes), plus ours:
 * initialized and unsealed but a health check fails (storage unreachable or full, ...) → `unhealthycode`, 503 by
 * default, so the default answer is a readiness signal. A liveness probe passes `unhealthycode=200`: restarting the
 * process does not bring a database back.
 */
function healthCode(status: SealStatus, healthy: boolean, query: Record<string, string>): number {
  const code = (name: string, fallback: number): number => {
    const raw = query[name];
    if (raw === undefined || raw === '') return fallback;
    const n = Number(raw);
    if (!Number.isInteger(n) || n < 100 || n > 599)
      throw invalid(`query parameter "${name}" must be an HTTP status code`);
    return n;
  };
  if (!status.initialized) return code('uninitcode', 501);
  if (status.sealed) return code('sealedcode', 503);
  if (!healthy) return code('unhealthycode', 503);
  return code('activecode', 200);
}

/** Vault accepts unseal keys hex- or base64-encoded; the seal service takes base64. */
function normalizeShare(key: string): string {
  const trimmed = key.trim();
  if (/^[0-9a-fA-F]+$/.test(trimmed) && trimmed.length % 2 === 0) return Buffer.from(trimmed, 'hex').toString('base64');
  if (!/^[A-Za-z0-9+/=_-]+$/.test(trimmed)) throw new StrongroomError('invalid', 'the unseal key is not hex or base64');
  return trimmed;
}

/** Vault's own words (and 400): `vault operator init` users and hvac match on them. */
function alreadyInitialized(): StrongroomError {
  return invalid('Vault is already initialized');
}
