import { randomBytes, randomUUID } from 'node:crypto';
import type { ActiveLease, IssuedLease, NewLease, LeaseRegistrar } from '../leases/types.js';
import type { PasswordGenerator } from '../passwords/types.js';

/**
 * Doubles for the database engine's tests: a lease registrar that records what the engine registers (and can be
 * made to fail), and a password generator (the password-policy service lands on its own branch).
 */
export interface RecordingLeases extends LeaseRegistrar {
  readonly created: Array<NewLease & { leaseId: string; issueTime: Date }>;
  /** The next create rejects (once). */
  failNext(): void;
  /** The lease as the lease service would hand it to the engine's hooks. */
  active(leaseId: string): ActiveLease;
}

export function recordingLeases(): RecordingLeases {
  const created: RecordingLeases['created'] = [];
  let fail = false;
  return {
    created,
    failNext: () => void (fail = true),
    async create(lease: NewLease): Promise<IssuedLease> {
      if (fail) {
        fail = false;
        throw new Error('lease store unavailable');
      }
      const leaseId = `${lease.path}/${randomUUID()}`;
      created.push({ ...lease, leaseId, issueTime: new Date() });
      return { leaseId, ttl: lease.ttl, renewable: lease.renewable };
    },
    active(leaseId) {
      const lease = created.find((l) => l.leaseId === leaseId);
      if (!lease) throw new Error(`no lease ${leaseId}`);
      return {
        id: leaseId,
        mount: lease.mount,
        internal: structuredClone(lease.internal),
        issueTime: lease.issueTime,
        expireTime: new Date(lease.issueTime.getTime() + lease.ttl * 1000),
        maxExpireTime: new Date(lease.issueTime.getTime() + lease.maxTtl * 1000),
      };
    },
  };
}

/** Vault's default policy shape: 20 characters of letters, digits and '-'. `unsafeFirst` quotes the first N. */
export function testPasswords(options: { unsafeFirst?: number } = {}): PasswordGenerator & { calls: number } {
  let unsafe = options.unsafeFirst ?? 0;
  const gen = {
    calls: 0,
    async generate() {
      gen.calls++;
      if (unsafe > 0) {
        unsafe--;
        return `bad'pass\\word-${randomBytes(4).toString('hex')}`;
      }
      return `A1-${randomBytes(9).toString('base64url').replace(/_/g, 'x')}`.slice(0, 20);
    },
  };
  return gen;
}
