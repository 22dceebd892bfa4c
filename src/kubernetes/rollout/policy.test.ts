import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Consumer } from '../consumers/types.js';
import { DEFAULT_POLICY, describePolicyError, effectivePolicy, parseRolloutPolicy } from '../api/rollout.js';
import { matchesSelector, planRollout } from './plan.js';

const consumer = (name: string, labels: Record<string, string> = {}, over: Partial<Consumer> = {}): Consumer => ({
  kind: 'Deployment',
  namespace: 'apps',
  name,
  labels,
  uses: [{ via: 'env', container: 'c' }],
  effect: 'restart',
  reason: 'env',
  templateAnnotations: {},
  restartable: true,
  ...over,
});

describe('rollout policy', () => {
  it('defaults to Restart with health gates and automatic rollback', () => {
    expect(DEFAULT_POLICY).toEqual({
      strategy: 'Restart',
      healthTimeout: '5m',
      pauseBetweenWaves: '0',
      autoRollback: true,
    });
    expect(effectivePolicy(undefined, undefined)).toEqual(DEFAULT_POLICY);
  });

  it('the ExternalSecret policy wins over the store default as a whole', () => {
    expect(effectivePolicy({ strategy: 'None' }, { strategy: 'Restart', healthTimeout: '1m' })).toMatchObject({
      strategy: 'None',
      healthTimeout: '5m',
    });
    expect(effectivePolicy(undefined, { strategy: 'Restart', healthTimeout: '1m' }).healthTimeout).toBe('1m');
  });

  it.each([
    [
      { strategy: 'Progressive' },
      'spec.rollout.waves: strategy Progressive needs at least one wave (the first is the canary)',
    ],
    [
      { strategy: 'Restart', waves: [{ name: 'a', selector: {} }] },
      'spec.rollout.waves: waves apply only to strategy Progressive, not Restart',
    ],
    [
      { strategy: 'Progressive', waves: [{ name: 'a' }] },
      'spec.rollout.waves.0: wave "a" needs exactly one of selector or workloads',
    ],
    [
      { strategy: 'Progressive', waves: [{ name: 'a', selector: {}, workloads: [{ name: 'x' }] }] },
      'spec.rollout.waves.0: wave "a" needs exactly one of selector or workloads',
    ],
    [
      {
        strategy: 'Progressive',
        waves: [
          { name: 'a', selector: {} },
          { name: 'a', selector: {} },
        ],
      },
      'spec.rollout.waves.1.name: wave name "a" is used twice',
    ],
    [{ healthTimeout: '0' }, 'spec.rollout.healthTimeout: healthTimeout must be longer than 0'],
    [{ strategy: 'Sometimes' }, 'spec.rollout.strategy'],
    [{ pauseBetweenWaves: 'soon' }, 'spec.rollout.pauseBetweenWaves'],
  ])('rejects %j with a clear message', (input, message) => {
    let error: unknown;
    try {
      parseRolloutPolicy(input);
    } catch (err) {
      error = err;
    }
    expect(describePolicyError(error)).toContain(message);
  });
});

describe('wave planning', () => {
  it('puts the canary first, named workloads next, and everything unselected last; skips non-restartable consumers', () => {
    const policy = parseRolloutPolicy({
      strategy: 'Progressive',
      waves: [
        { name: 'canary', selector: { matchLabels: { tier: 'canary' } }, healthTimeout: '30s' },
        { name: 'core', workloads: [{ name: 'api' }, { kind: 'StatefulSet', name: 'db' }] },
      ],
      healthTimeout: '2m',
    });
    const plan = planRollout(policy, [
      consumer('web', { tier: 'canary' }),
      consumer('api', { tier: 'canary' }), // already taken by the canary wave
      consumer('db', {}, { kind: 'StatefulSet' }),
      consumer('db', {}, { kind: 'DaemonSet' }), // same name, other kind: not selected by kind StatefulSet
      consumer('files', {}, { effect: 'refresh', restartable: false }),
      consumer('worker'),
    ]);
    expect(plan.waves).toEqual([
      { name: 'canary', healthTimeoutMs: 30_000 },
      { name: 'core', healthTimeoutMs: 120_000 },
      { name: 'remaining', healthTimeoutMs: 120_000 },
    ]);
    expect(plan.workloads.map((w) => `${w.kind}/${w.name}@${w.wave}`)).toEqual([
      'Deployment/web@0',
      'Deployment/api@0',
      'StatefulSet/db@1',
      'DaemonSet/db@2',
      'Deployment/worker@2',
    ]);
  });

  it('Restart puts every restartable consumer in one wave; nothing to restart means no wave', () => {
    expect(planRollout(DEFAULT_POLICY, [consumer('a'), consumer('b')]).waves).toHaveLength(1);
    expect(planRollout(DEFAULT_POLICY, [consumer('a', {}, { restartable: false })])).toEqual({
      waves: [],
      workloads: [],
    });
  });

  it('every restartable consumer lands in exactly one wave, whatever the selectors', () => {
    const labels = fc.dictionary(fc.constantFrom('tier', 'team', 'zone'), fc.constantFrom('a', 'b', 'c'));
    fc.assert(
      fc.property(
        fc.array(labels, { maxLength: 12 }),
        fc.array(labels, { minLength: 1, maxLength: 3 }),
        (workloadLabels, selectors) => {
          const consumers = workloadLabels.map((l, i) => consumer(`w${i}`, l));
          const policy = parseRolloutPolicy({
            strategy: 'Progressive',
            waves: selectors.map((matchLabels, i) => ({ name: `w${i}`, selector: { matchLabels } })),
          });
          const plan = planRollout(policy, consumers);
          expect(plan.workloads.map((w) => w.name).sort()).toEqual(consumers.map((c) => c.name).sort());
          for (const w of plan.workloads) {
            const c = consumers.find((x) => x.name === w.name)!;
            const first = selectors.findIndex((s) => matchesSelector(c.labels, { matchLabels: s }));
            expect(w.wave).toBe(first === -1 ? selectors.length : first);
          }
        },
      ),
    );
  });
});

describe('label selectors', () => {
  it('follow Kubernetes semantics for matchLabels and matchExpressions', () => {
    const labels = { app: 'web', tier: 'canary' };
    expect(matchesSelector(labels, {})).toBe(true);
    expect(matchesSelector(labels, { matchLabels: { app: 'web' } })).toBe(true);
    expect(matchesSelector(labels, { matchLabels: { app: 'api' } })).toBe(false);
    expect(
      matchesSelector(labels, { matchExpressions: [{ key: 'tier', operator: 'In', values: ['canary', 'beta'] }] }),
    ).toBe(true);
    expect(
      matchesSelector(labels, { matchExpressions: [{ key: 'tier', operator: 'NotIn', values: ['canary'] }] }),
    ).toBe(false);
    expect(matchesSelector(labels, { matchExpressions: [{ key: 'zone', operator: 'NotIn', values: ['a'] }] })).toBe(
      true,
    );
    expect(matchesSelector(labels, { matchExpressions: [{ key: 'zone', operator: 'Exists' }] })).toBe(false);
    expect(matchesSelector(labels, { matchExpressions: [{ key: 'zone', operator: 'DoesNotExist' }] })).toBe(true);
    expect(
      matchesSelector(labels, {
        matchLabels: { app: 'web' },
        matchExpressions: [{ key: 'tier', operator: 'DoesNotExist' }],
      }),
    ).toBe(false);
  });
});
