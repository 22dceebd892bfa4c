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

/** 'ok' when the call succeeds, else the kind of the StrongroomError it rejects with (anything else fails the test). */
export async function kindOf(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
    return 'ok';
  } catch (err) {
    if (err instanceof StrongroomError) return err.kind;
    throw err;
  }
}
