import { describe, expect, it } from 'vitest';
import { evaluateJsonPath, printerCell } from './printer-columns.js';

const object = {
  metadata: { name: 'db', creationTimestamp: '2026-01-01T00:00:00Z' },
  spec: { refreshInterval: '1m', data: [{ k: 'a' }, { k: 'b' }] },
  status: {
    conditions: [
      { type: 'Synced', status: 'False', reason: 'Old' },
      { type: 'Ready', status: 'True', reason: 'SecretSynced' },
    ],
    replicas: 3,
  },
};

describe('CRD printer columns', () => {
  it('follows fields, indexes, wildcards and equality filters', () => {
    expect(evaluateJsonPath(object, '.spec.refreshInterval')).toEqual(['1m']);
    expect(evaluateJsonPath(object, '.spec.data[1].k')).toEqual(['b']);
    expect(evaluateJsonPath(object, '.spec.data[*].k')).toEqual(['a', 'b']);
    expect(evaluateJsonPath(object, '.status.conditions[?(@.type=="Ready")].reason')).toEqual(['SecretSynced']);
    expect(evaluateJsonPath(object, '.status.missing.deeper')).toEqual([]);
    expect(() => evaluateJsonPath(object, '.spec..x')).toThrow(/unsupported JSONPath/);
  });

  it('types cells as the apiextensions server does: dates become ages, numbers stay numbers, missing is null', () => {
    const now = Date.parse('2026-01-01T00:05:00Z');
    expect(printerCell(object, { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' }, now)).toBe('5m');
    expect(printerCell(object, { name: 'R', type: 'integer', jsonPath: '.status.replicas' }, now)).toBe(3);
    expect(printerCell(object, { name: 'S', type: 'string', jsonPath: '.status.nope' }, now)).toBeNull();
  });
});
