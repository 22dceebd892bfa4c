import type { Command } from 'commander';
import { lookupLease, renewLease, revokeLease, revokeLeaseForce, revokeLeasePrefix } from '../client/index.js';
import { formatDuration, parseDuration } from '../shared/duration.js';
import { act, group, leaf, oneLineErrors, type Context } from './command.js';
import { UsageError } from './errors.js';
import { extractVaultFlags } from './input.js';
import { emit, keyValueTable, note } from './output.js';
import { unknownOption } from './vault-flags.js';

/*
 * `strongroom lease lookup|renew|revoke`, as `vault lease ...` (flags in Vault's single-dash form work too). The
 * calls are src/client's typed lease calls over the connection's client (one HTTP client for our API).
 *
 * Script output shapes (-o json):
 *   lease lookup   sys/leases/lookup's data {id, issue_time, expire_time, last_renewal, renewable, ttl}
 *   lease renew    {lease_id, lease_duration, renewable, warnings?}
 *   lease revoke   {lease_id, prefix, force, sync}: what was asked (the server answers nothing)
 */

type Json = Record<string, unknown>;

/** The one lease id (or prefix) argument, with Vault's `-flag` forms pulled out of the arguments. */
function parseArgs(ctx: Context, names: string[]): { id: string; flags: Record<string, string | true> } {
  const { flags, rest } = extractVaultFlags(ctx.command.args, names);
  for (const name of names) if (ctx.opts[name] !== undefined && flags[name] === undefined) flags[name] = ctx.opts[name];
  const unknown = rest.find((a) => a.startsWith('-'));
  const where = `'strongroom lease ${ctx.command.name()} --help'`;
  if (unknown) throw unknownOption(unknown, names, where);
  if (rest.length === 0) throw new UsageError('which lease? a lease id is required', where);
  if (rest.length > 1) throw new UsageError('too many arguments', `one lease id; ${where}`);
  return { id: rest[0]!, flags };
}

const isTrue = (value: string | true | undefined) => value === true || value === 'true' || value === '1';

export function registerLease(program: Command): void {
  const lease = group(program, 'lease', 'Look up, renew and revoke the leases of dynamic secrets');

  leaf(lease, 'lookup', "Show a lease's times (issue, expiry, last renewal, ttl)", [
    'strongroom lease lookup database/creds/readonly/27e1b9a1-27b8-83d9-9fe0-d99d786bdc83',
  ])
    .allowUnknownOption()
    .allowExcessArguments()
    .action(
      act(async (ctx) => {
        const { id } = parseArgs(ctx, []);
        const lease = await lookupLease(ctx.client(), id);
        // The API's field names, so scripts read what `vault lease lookup -format=json` prints.
        const data: Json = {
          id: lease.id,
          issue_time: lease.issueTime,
          expire_time: lease.expireTime,
          last_renewal: lease.lastRenewal,
          renewable: lease.renewable,
          ttl: lease.ttl,
        };
        emit(ctx.format, data, () =>
          keyValueTable([
            ['expire_time', data.expire_time],
            ['id', data.id],
            ['issue_time', data.issue_time],
            ['last_renewal', data.last_renewal ?? '<nil>'],
            ['renewable', data.renewable],
            ['ttl', typeof data.ttl === 'number' ? formatDuration(data.ttl) : data.ttl],
          ]),
        );
      }),
    );

  leaf(lease, 'renew', "Extend a lease by --increment (default: its original ttl), up to its role's max ttl", [
    'strongroom lease renew database/creds/readonly/27e1b9a1-27b8-83d9-9fe0-d99d786bdc83',
    'strongroom lease renew --increment=1h database/creds/readonly/27e1b9a1-27b8-83d9-9fe0-d99d786bdc83',
  ])
    .option('--increment <duration>', 'how much longer the lease should live ("1h", "90m" or seconds)')
    .allowUnknownOption()
    .allowExcessArguments()
    .action(
      act(async (ctx) => {
        const { id, flags } = parseArgs(ctx, ['increment']);
        let increment: number | undefined;
        if (typeof flags.increment === 'string') {
          try {
            increment = parseDuration(flags.increment);
          } catch {
            throw new UsageError(`invalid --increment "${flags.increment}"`, 'a duration such as 1h or 90m');
          }
        }
        const renewed = await renewLease(ctx.client(), id, increment);
        const out: Json = {
          lease_id: renewed.leaseId,
          lease_duration: renewed.leaseDuration,
          renewable: renewed.renewable,
          ...(renewed.warnings ? { warnings: renewed.warnings } : {}),
        };
        for (const warning of renewed.warnings ?? []) note(`WARNING! ${warning}`, 'json');
        emit(ctx.format, out, () =>
          keyValueTable([
            ['lease_id', renewed.leaseId],
            ['lease_duration', formatDuration(renewed.leaseDuration)],
            ['lease_renewable', renewed.renewable],
          ]),
        );
      }),
    );

  leaf(lease, 'revoke', 'Revoke a lease (or every lease under a prefix) and the credential behind it', [
    'strongroom lease revoke --sync database/creds/readonly/27e1b9a1-27b8-83d9-9fe0-d99d786bdc83',
    'strongroom lease revoke -prefix database/creds',
    'strongroom lease revoke --force --prefix database/creds/test-role   # removes the records even if the engine fails',
  ])
    .option('--prefix', 'treat the argument as a prefix: revoke every lease under it (needs sudo)')
    .option('--force', 'remove the leases even when the engine cannot revoke them (recovery; needs --prefix)')
    .option('--sync', 'wait for the revocation instead of queuing it')
    .allowUnknownOption()
    .allowExcessArguments()
    .action(
      act(async (ctx) => {
        const { id, flags } = parseArgs(ctx, ['prefix', 'force', 'f', 'sync']);
        const prefix = isTrue(flags.prefix);
        const force = isTrue(flags.force) || isTrue(flags.f);
        const sync = isTrue(flags.sync);
        const client = ctx.client();
        const report = (message: string) => emit(ctx.format, { lease_id: id, prefix, force, sync }, () => message);
        if (force) {
          if (!prefix)
            throw new UsageError('--force needs --prefix', "'strongroom lease revoke --force --prefix PREFIX'");
          note(
            'Warning! Force-removing leases can cause Strongroom to become out of sync with secret engines!',
            'json',
          );
          await revokeLeaseForce(client, id);
          report(`Success! Force revoked any leases with prefix: ${id}`);
        } else if (prefix) {
          await revokeLeasePrefix(client, id, { sync });
          report(`Success! Revoked any leases with prefix: ${id}`);
        } else {
          await revokeLease(client, id, { sync });
          report(sync ? `Success! Revoked lease: ${id}` : 'All revocation operations queued successfully!');
        }
      }),
    );

  oneLineErrors(lease);
}
