import { invalid } from '../shared/errors.js';

/** Transit key names: one path segment, so a name can never reach another key's path (or another endpoint). */
const KEY_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/;

export function isValidKeyName(name: unknown): name is string {
  return typeof name === 'string' && KEY_NAME.test(name);
}

export function validateKeyName(name: string): void {
  if (!isValidKeyName(name)) {
    throw invalid('invalid key name: use 1-128 letters, digits, ".", "_" or "-", starting with a letter or digit');
  }
}
