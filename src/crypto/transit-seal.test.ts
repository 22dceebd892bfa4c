import { randomBytes } from 'node:crypto';
import { expect, it } from 'vitest';
import { describeEachEngine } from '../../test/support/engines.js';
import { encodeContext } from './context.js';
import { createSealService } from './service.js';
import { TransitSealError, type TransitUnsealer } from './transit-seal.js';

const quiet = { warn: () => undefined, refreshIntervalMs: 0 };
const CONTEXT = encodeContext('test', 'transit-seal');

/** An unsealer double: keeps what it wrapped under opaque ids, and can be switched off like a sealed server. */
function fakeUnsealer() {
  const wrapped = new Map<string, Buffer>();
  const state = { down: false, swap: false };
  const unsealer: TransitUnsealer = {
    describe: 'transit key "test" at the double',
    async wrap(key) {
      if (state.down) throw new TransitSealError('503 Vault is sealed');
      const id = `vault:v1:${randomBytes(8).toString('hex')}`;
      wrapped.set(id, Buffer.from(key));
      return id;
    },
    async unwrap(ciphertext) {
      if (state.down) throw new TransitSealError('503 Vault is sealed');
      const key = wrapped.get(ciphertext);
      if (!key) throw new TransitSealError('400 invalid ciphertext');
      return state.swap ? randomBytes(32) : Buffer.from(key);
    },
  };
  return { unsealer, state };
}

describeEachEngine('transit seal (seal service with an unsealer double)', (ctx) => {
  it('inits unsealed with recovery keys, and unseals again only through the unsealer', async () => {
    const { unsealer, state } = fakeUnsealer();
    const seal = createSealService({ storage: ctx.storage(), ...quiet, transit: { unsealer, disabled: false } });
    expect((await seal.status()).type).toBe('transit');
    const init = await seal.initTransit({ recoveryShares: 3, recoveryThreshold: 2 });
    expect(init.shares).toEqual([]);
    expect(init.recoveryShares).toHaveLength(3);
    expect(await seal.status()).toMatchObject({ type: 'transit', sealed: false, t: 2, n: 3, recoverySeal: true });
    const sealed = seal.barrier.encrypt(Buffer.from('value'), CONTEXT);
    await seal.seal();

    state.down = true;
    await expect(seal.unsealWithTransit()).rejects.toThrow(/503 Vault is sealed/);
    expect(seal.barrier.isSealed()).toBe(true);
    // A recovery key is not an unseal key.
    await expect(seal.submitShare(init.recoveryShares![0]!)).rejects.toThrow(/unseals through its transit seal/);

    state.down = false;
    state.swap = true;
    await expect(seal.unsealWithTransit()).rejects.toThrow(/does not open this store/);
    expect(seal.barrier.isSealed()).toBe(true);

    state.swap = false;
    await seal.unsealWithTransit();
    expect(seal.barrier.decrypt(sealed, CONTEXT).toString()).toBe('value');
    await seal.close();
  });
});

// One database per suite: each scenario starts from an uninitialized store.
describeEachEngine('transit seal: init with the unsealer down', (ctx) => {
  it('an unreachable unsealer at init leaves the store uninitialized', async () => {
    const { unsealer, state } = fakeUnsealer();
    state.down = true;
    const seal = createSealService({ storage: ctx.storage(), ...quiet, transit: { unsealer, disabled: false } });
    await expect(seal.initTransit({ recoveryShares: 1, recoveryThreshold: 1 })).rejects.toThrow(/sealed/);
    expect(await seal.status()).toMatchObject({ initialized: false, sealed: true });
    await seal.close();
  });
});

describeEachEngine('transit seal: migration from Shamir', (ctx) => {
  it('a Shamir → transit migration with wrong keys or a down unsealer changes nothing', async () => {
    const storage = ctx.storage();
    const shamir = createSealService({ storage, ...quiet });
    const { shares } = await shamir.initShamir({ shares: 3, threshold: 2 });
    await shamir.close();

    const { unsealer, state } = fakeUnsealer();
    const seal = createSealService({ storage, ...quiet, transit: { unsealer, disabled: false } });
    expect(await seal.status()).toMatchObject({ type: 'shamir', migration: true });
    await expect(seal.submitShare(shares[0]!)).rejects.toThrow(/"migrate": true/);

    state.down = true;
    await seal.submitShare(shares[0]!, { migrate: true });
    await expect(seal.submitShare(shares[1]!, { migrate: true })).rejects.toThrow(/503/);
    expect(await seal.status()).toMatchObject({ type: 'shamir', sealed: true, migration: true, progress: 0 });

    state.down = false;
    await seal.submitShare(shares[1]!, { migrate: true });
    await seal.submitShare(shares[2]!, { migrate: true });
    expect(await seal.status()).toMatchObject({ type: 'transit', sealed: false, migration: false });
    await seal.close();
  });
});
