import { StrongroomError } from '../../src/shared/errors.js';

/** The StrongroomError a call rejects with, so a test can assert its kind and message; anything else fails the test. */
export async function errorOf(promise: Promise<unknown>): Promise<StrongroomError> {
  try {
    await promise;
  } catch (err) {
    if (err instanceof StrongroomError) return err;
    throw err;
  }
  throw new Error('expected the call to fail');
}
