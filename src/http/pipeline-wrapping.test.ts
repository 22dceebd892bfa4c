import { describe, it } from 'vitest';

/**
 * Response wrapping in the request pipeline (issue 15 item 6), on the in-process harness
 * (test/support/pipeline-harness.ts: its `HarnessRequest` and `PipelineHarnessOptions` mark where the wrap TTL and
 * the wrapping service plug in). Placeholders for the helper building wrapping; each becomes a real test with it.
 */
describe('pipeline: response wrapping', () => {
  it.todo('X-Vault-Wrap-TTL returns wrap_info (token, ttl, creation_path, accessor) and data null instead of the data');
  it.todo('the wrapped response is audited as wrapped; the plaintext never appears in the reply');
  it.todo('a wrap request that cannot be honoured (bad TTL, above the policy max_wrapping_ttl, store failure) fails; never plaintext');
  it.todo('an audit failure while wrapping releases neither the data nor the wrapping token');
  it.todo('sys/wrapping/unwrap releases the data once; a second unwrap is 400');
});
