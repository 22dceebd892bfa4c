import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { clearAnswers, recordAnswer, vaultView } from './answers.js';

describe("-format=json: the API answer as Vault's CLI prints it", () => {
  // Module state: another file in this worker may have recorded answers before this one ran.
  beforeEach(clearAnswers);
  afterEach(clearAnswers);

  it("prints the one answer's envelope in Vault's key order, mount lookups not counted", () => {
    recordAnswer({ kind: 'body', path: 'sys/internal/ui/mounts/secret/app', body: { data: { path: 'secret/' } } });
    recordAnswer({ kind: 'body', path: 'secret/data/app', body: { data: { data: { k: 'v' } }, request_id: 'r1' } });
    const view = vaultView()?.value as Record<string, unknown>;
    expect(Object.keys(view)).toEqual(['request_id', 'lease_id', 'lease_duration', 'renewable', 'data', 'warnings']);
    expect(view).toMatchObject({ request_id: 'r1', lease_id: '', data: { data: { k: 'v' } }, warnings: null });
  });

  it("prints a list's keys, nothing for an answer without a body, and a non-envelope answer as it is", () => {
    recordAnswer({ kind: 'keys', keys: ['a', 'b/'] });
    expect(vaultView()).toEqual({ value: ['a', 'b/'] });
    clearAnswers();
    recordAnswer({ kind: 'body', path: 'secret/metadata/app', body: null });
    expect(vaultView()).toEqual({ value: null });
    clearAnswers();
    recordAnswer({ kind: 'body', path: 'sys/seal-status', body: { sealed: false, initialized: true } });
    expect(vaultView()).toEqual({ value: { sealed: false, initialized: true } });
  });

  it('never prints the token of a token lookup', () => {
    recordAnswer({
      kind: 'body',
      path: 'auth/token/lookup-self',
      body: { data: { id: 'srs.secret', accessor: 'acc' } },
    });
    const view = vaultView()?.value as { data: Record<string, unknown> };
    expect(view.data).toEqual({ accessor: 'acc' });
  });

  it('leaves a command of several requests (no Vault counterpart) to its own JSON', () => {
    expect(vaultView()).toBeUndefined();
    recordAnswer({ kind: 'body', path: 'secret/data/a', body: { data: {} } });
    recordAnswer({ kind: 'body', path: 'secret/data/b', body: { data: {} } });
    expect(vaultView()).toBeUndefined();
  });
});
