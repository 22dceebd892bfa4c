/**
 * The lease lifecycle of an ExternalSecret's generated credentials, run at the start of each of its reconciles:
 * read the generators and `status.credentials`, ask `schedule()` what is due, do it (restore after a rollback, revoke,
 * renew, issue a new generation), record the result in status and in the companion Secret, and hand the reconciler
 * the current generation's data to write into the target Secret. Rolling the new credential out is the rollout
 * engine's job; this only reads its record.
 *
 * Crash safety: a new credential is stored (companion Secret, then status) before it is written into the target, so
 * a restarted operator finds every lease it issued; a revocation that fails stays in `revoking` and is retried.
 */
import { z } from 'zod';
import { StrongroomError } from '../../shared/errors.js';
import { parseDuration } from '../api/common.js';
import {
  credentialsStatus,
  generationVersion,
  type CredentialGeneration,
  type CredentialsStatus,
  type LeaseRecord,
} from '../api/credentials.js';
import { generatorNames, type ExternalSecret, type ExternalSecretSpec } from '../api/external-secret.js';
import { parseVaultDynamicSecretSpec, type VaultDynamicSecret, type VaultDynamicSecretSpec } from '../api/generator.js';
import { readRollout } from '../rollout/record.js';
import { LeaseGoneError, type DynamicSecretsClient } from '../types.js';
import { sameData, type Companion, type GenerationData } from './companion.js';
import { rolloutViewOf } from './rollout-view.js';
import { revokeBackoffMs, schedule, type Schedule } from './schedule.js';

/** A generator is missing, invalid, or its store cannot make credentials: the reconcile reports it and retries. */
export class GeneratorError extends StrongroomError {
  constructor(message: string) {
    super('invalid', message);
    this.name = 'GeneratorError';
  }
}

export interface ResolvedGenerator {
  name: string;
  generation: number;
  spec: VaultDynamicSecretSpec;
  client: DynamicSecretsClient;
}

export interface LifecycleDeps {
  /** The generator and a client of its store (checked for the namespace), or a GeneratorError. */
  resolveGenerator(
    namespace: string,
    name: string,
  ): Promise<{ generator: VaultDynamicSecret; client: DynamicSecretsClient }>;
  companion: Companion;
  /** A fresh read (status.credentials and status.rollout must not lag our own last write). */
  readExternalSecret(namespace: string, name: string): Promise<ExternalSecret | undefined>;
  /** Merge-patches `status.credentials` (the whole object, explicit nulls). */
  saveCredentials(es: ExternalSecret, credentials: Record<string, unknown>): Promise<void>;
  event(es: ExternalSecret, type: 'Normal' | 'Warning', reason: string, message: string): Promise<void>;
  /** False when the operator runs without rollouts: a written credential then counts as rolled out at once. */
  rolloutsEnabled: boolean;
  now?: () => number;
  count?: (operation: 'issue' | 'renew' | 'revoke', result: 'ok' | 'error') => void;
}

export interface PreparedCredentials {
  /** Per generator: the current generation's fields and its recorded version. */
  generated: Record<string, { data: Record<string, Buffer>; version: string }>;
  credentials: CredentialsStatus;
  requeueAfterMs?: number;
}

const iso = (ms: number) => new Date(ms).toISOString();

export function createLeaseLifecycle(deps: LifecycleDeps) {
  const now = deps.now ?? Date.now;
  const count = deps.count ?? (() => undefined);

  async function resolveAll(es: ExternalSecret, spec: ExternalSecretSpec): Promise<Map<string, ResolvedGenerator>> {
    const out = new Map<string, ResolvedGenerator>();
    for (const name of generatorNames(spec)) {
      const { generator, client } = await deps.resolveGenerator(es.metadata.namespace!, name);
      let parsed: VaultDynamicSecretSpec;
      try {
        parsed = parseVaultDynamicSecretSpec(generator.spec);
      } catch (err) {
        const why =
          err instanceof z.ZodError
            ? err.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')
            : String(err);
        throw new GeneratorError(`VaultDynamicSecret ${name} has an invalid spec: ${why}`);
      }
      out.set(name, { name, generation: generator.metadata.generation ?? 0, spec: parsed, client });
    }
    return out;
  }

  /** Why the current generation cannot serve this spec any more, if it cannot. */
  function staleness(
    current: CredentialGeneration | undefined,
    generators: Map<string, ResolvedGenerator>,
    held: Map<number, GenerationData>,
  ): string | undefined {
    if (!current) return undefined;
    const gone = current.leases.find((l) => !generators.has(l.generator));
    if (gone) return `VaultDynamicSecret ${gone.generator} is no longer used`;
    for (const g of generators.values()) {
      const lease = current.leases.find((l) => l.generator === g.name);
      if (!lease) return `VaultDynamicSecret ${g.name} is new to this ExternalSecret`;
      if ((lease.generatorGeneration ?? g.generation) !== g.generation) return `VaultDynamicSecret ${g.name} changed`;
      if (!held.get(current.generation)?.[g.name]) return `the credential of generation ${current.generation} is lost`;
    }
    return undefined;
  }

  async function issue(
    generators: Map<string, ResolvedGenerator>,
    generation: number,
  ): Promise<{ record: CredentialGeneration; data: GenerationData }> {
    const at = now();
    const leases: LeaseRecord[] = [];
    const data: GenerationData = {};
    try {
      for (const g of generators.values()) {
        const got = await g.client.generate({
          path: g.spec.path,
          method: g.spec.method,
          parameters: g.spec.parameters ?? {},
          resultType: g.spec.resultType,
        });
        data[g.name] = got.data;
        const duration = got.lease?.leaseDuration ?? got.ttl ?? 0;
        leases.push({
          // A held static credential: its lease pins the account, its ttl says when the store moves on.
          ...(got.lease && got.ttl ? { refreshAfter: iso(at + got.ttl * 1000) } : {}),
          generator: g.name,
          generatorGeneration: g.generation,
          leaseId: got.lease?.leaseId ?? '',
          leaseDuration: duration,
          renewable: got.lease?.renewable ?? false,
          issueTime: iso(at),
          // No lease and no ttl: nothing ever ends it; look again after a day.
          expireTime: iso(at + (duration > 0 ? duration * 1000 : 86_400_000)),
        });
      }
      count('issue', 'ok');
    } catch (err) {
      count('issue', 'error');
      // Half a generation is no generation: give back what was already issued.
      for (const lease of leases) {
        if (lease.leaseId)
          await generators
            .get(lease.generator)!
            .client.revoke(lease.leaseId)
            .catch(() => undefined);
      }
      if (err instanceof StrongroomError && err.kind !== 'unavailable') throw new GeneratorError(err.message);
      throw err;
    }
    return { record: { generation, version: generationVersion(generation), issuedAt: iso(at), leases }, data };
  }

  async function prepare(es: ExternalSecret, spec: ExternalSecretSpec): Promise<PreparedCredentials> {
    const fresh = (await deps.readExternalSecret(es.metadata.namespace!, es.metadata.name)) ?? es;
    const parsed = credentialsStatus.safeParse(fresh.status?.credentials);
    const original = parsed.success ? parsed.data : undefined;
    let state: CredentialsStatus = original ? structuredClone(original) : { lastGeneration: 0, revoking: [] };
    const generators = await resolveAll(es, spec);
    const held = await deps.companion.read(es);
    const rollout = readRollout(fresh);
    const renewed = new Set<string>();
    const events: [type: 'Normal' | 'Warning', reason: string, message: string][] = [];
    let plan: Schedule | undefined;

    const clientOf = (generator: string) => generators.get(generator)?.client;
    const graceMs = Math.max(0, ...[...generators.values()].map((g) => parseDuration(g.spec.revokeGracePeriod)));
    const renewBeforeMs = (generator: string) => {
      const rb = generators.get(generator)?.spec.renewBefore;
      return rb ? parseDuration(rb) : undefined;
    };

    async function revoke(
      generation: number,
      lease: LeaseRecord | { generator: string; leaseId: string; expireTime: string },
      reason: string,
      attempts: number,
    ) {
      const client = clientOf(lease.generator);
      try {
        if (!client) throw new Error(`VaultDynamicSecret ${lease.generator} is no longer used by this ExternalSecret`);
        await client.revoke(lease.leaseId);
        count('revoke', 'ok');
        events.push([
          'Normal',
          'LeaseRevoked',
          `revoked lease ${lease.leaseId} of generation ${generation}: ${reason}`,
        ]);
      } catch (err) {
        count('revoke', 'error');
        const message = `${reason}; revocation failed: ${(err as Error).message}`.slice(0, 300);
        state.revoking = [
          ...(state.revoking ?? []).filter((p) => p.leaseId !== lease.leaseId),
          {
            generator: lease.generator,
            generation,
            leaseId: lease.leaseId,
            expireTime: lease.expireTime,
            attempts: attempts + 1,
            nextAttemptAt: iso(now() + revokeBackoffMs(attempts + 1)),
            reason: message,
          },
        ];
        events.push(['Warning', 'LeaseRevocationFailed', `lease ${lease.leaseId}: ${message}`]);
        return;
      }
      state.revoking = (state.revoking ?? []).filter((p) => p.leaseId !== lease.leaseId);
    }

    for (let pass = 0; pass < 4; pass++) {
      const current = state.current;
      plan = schedule({
        now: now(),
        state,
        rollout: current
          ? rolloutViewOf(rollout, current.version, Date.parse(current.issuedAt), deps.rolloutsEnabled)
          : { state: 'pending' },
        stale: staleness(current, generators, held),
        renewBeforeMs,
        graceMs,
        renewed,
      });
      let acted = false;
      if (plan.restore && state.previous) {
        events.push([
          'Warning',
          'CredentialRestored',
          `generation ${state.previous.generation} is current again: the rollout of generation ${current!.generation} was rolled back`,
        ]);
        state = { ...state, current: state.previous, previous: undefined };
        if (plan.reissueNotBefore !== undefined) state.reissueNotBefore = iso(plan.reissueNotBefore);
        acted = true;
      }
      for (const p of plan.forget) state.revoking = (state.revoking ?? []).filter((x) => x.leaseId !== p.leaseId);
      const revokedNow = new Set<number>();
      for (const r of plan.revoke) {
        await revoke(r.generation, r.lease, r.reason, 0);
        revokedNow.add(r.generation);
        if (state.previous?.generation === r.generation) state.previous = undefined;
        acted = true;
      }
      for (const p of plan.retry) {
        await revoke(p.generation, p, p.reason?.split(';')[0] ?? 'retry', p.attempts);
        acted = true;
      }
      if (plan.dropPrevious) {
        state.previous = undefined;
        acted = true;
      }
      for (const lease of plan.renew) {
        renewed.add(lease.leaseId);
        acted = true;
        const client = clientOf(lease.generator);
        if (!client) continue;
        const record = [...(state.current?.leases ?? []), ...(state.previous?.leases ?? [])].find(
          (l) => l.leaseId === lease.leaseId,
        )!;
        try {
          const granted = await client.renew(lease.leaseId, lease.leaseDuration);
          count('renew', 'ok');
          const at = now();
          record.expireTime = iso(Math.max(Date.parse(record.expireTime), at + granted.leaseDuration * 1000));
          record.lastRenewal = iso(at);
          record.renewable = granted.renewable;
        } catch (err) {
          count('renew', 'error');
          if (!(err instanceof LeaseGoneError)) throw err;
          // The store no longer has it: the credential is dead, so it is due for replacement now.
          record.expireTime = iso(now());
          record.renewable = false;
          events.push(['Warning', 'LeaseLost', `lease ${lease.leaseId} is gone from the store`]);
        }
      }
      if (plan.issue) {
        const generation = state.lastGeneration + 1;
        const issued = await issue(generators, generation);
        const currentData = state.current ? held.get(state.current.generation) : undefined;
        const unchanged = state.current && currentData && sameData(currentData, issued.data, VOLATILE_FIELDS);
        if (unchanged) {
          // Read again before the store changed it (a static role not rotated yet): same credential, no new
          // generation. Keep the leases we hold, take the new times, give back any new lease.
          state.current = {
            ...state.current!,
            leases: state.current!.leases.map((l) => {
              const fresh = issued.record.leases.find((n) => n.generator === l.generator);
              if (!fresh) return l;
              if (l.leaseId === '') return fresh;
              return { ...l, ...(fresh.refreshAfter ? { refreshAfter: fresh.refreshAfter } : {}) };
            }),
          };
          for (const fresh of issued.record.leases)
            if (fresh.leaseId && !state.current!.leases.some((l) => l.leaseId === fresh.leaseId))
              await revoke(generation, fresh, 'the credential had not changed', 0);
        } else {
          events.push([
            'Normal',
            'CredentialIssued',
            `issued generation ${generation} (${plan.issue}): ${issued.record.leases.map((l) => (l.leaseId ? `lease ${l.leaseId} until ${l.expireTime}` : `${l.generator} without a lease`)).join(', ')}`,
          ]);
          held.set(generation, issued.data);
          state = {
            ...state,
            lastGeneration: generation,
            current: issued.record,
            // A generation revoked in this pass (rolled back with nothing alive to return to) is no previous.
            previous: state.current && !revokedNow.has(state.current.generation) ? state.current : undefined,
            reissueNotBefore: undefined,
          };
          // Stored before anyone sees it: a crash from here on still knows this lease.
          await deps.companion.write(es, keep(held, state));
          await deps.saveCredentials(es, asPatch(state));
        }
        acted = true;
      }
      if (!acted) break;
    }

    await deps.companion.write(es, keep(held, state));
    if (JSON.stringify(state) !== JSON.stringify(original)) await deps.saveCredentials(es, asPatch(state));
    for (const [type, reason, message] of events) await deps.event(es, type, reason, message);

    const current = state.current!;
    const data = held.get(current.generation) ?? {};
    const generated: PreparedCredentials['generated'] = {};
    for (const name of generators.keys()) generated[name] = { data: data[name] ?? {}, version: current.version };
    const nextAt = plan?.nextAt;
    return {
      generated,
      credentials: state,
      ...(nextAt !== undefined ? { requeueAfterMs: Math.max(100, nextAt - now()) } : {}),
    };
  }

  return { prepare };
}

/**
 * Fields that change without the credential changing: a static role's time to its rotation, and the two-account
 * retirement markers (the previous account's retirement ends between two reads of the same credential). A new
 * generation for them would roll the same password out again.
 */
const VOLATILE_FIELDS = new Set(['ttl', 'retiring_username', 'retire_after']);

/** Only the generations still alive keep their data. */
function keep(held: Map<number, GenerationData>, state: CredentialsStatus): Map<number, GenerationData> {
  const alive = new Set([state.current?.generation, state.previous?.generation]);
  return new Map([...held].filter(([n]) => alive.has(n)));
}

/** The whole object as a merge patch: absent optional fields become null so the patch removes them. */
export function asPatch(state: CredentialsStatus): Record<string, unknown> {
  return {
    lastGeneration: state.lastGeneration,
    current: state.current ?? null,
    previous: state.previous ?? null,
    revoking: state.revoking ?? [],
    reissueNotBefore: state.reissueNotBefore ?? null,
    message: state.message ?? null,
  };
}
