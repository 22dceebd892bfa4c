import { invalid } from '../shared/errors.js';

export const MAX_SECRET_PATH_BYTES = 512;
export const MAX_SECRET_PATH_SEGMENTS = 64;

/** Characters a path segment may hold. Everything is ASCII below 0x7f, which the list range query relies on. */
const ALLOWED = /^[A-Za-z0-9_.@:+=,~\-/]*$/;
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;

export type PathRule =
  | 'type'
  | 'empty'
  | 'too_long'
  | 'control_char'
  | 'bad_char'
  | 'leading_slash'
  | 'trailing_slash'
  | 'empty_segment'
  | 'dot_segment'
  | 'too_many_segments';

const MESSAGES: Record<PathRule, string> = {
  type: 'secret path must be a string',
  empty: 'secret path must not be empty',
  too_long: `secret path must be at most ${MAX_SECRET_PATH_BYTES} bytes`,
  control_char: 'secret path must not contain control characters',
  bad_char: 'secret path may only contain letters, digits, _ . @ : + = , ~ - and /',
  leading_slash: "secret path must not start with '/'",
  trailing_slash: "secret path must not end with '/' (a path ending in '/' is a folder)",
  empty_segment: "secret path must not contain empty segments ('//')",
  dot_segment: "secret path must not contain '.' or '..' segments",
  too_many_segments: `secret path must have at most ${MAX_SECRET_PATH_SEGMENTS} segments`,
};

function fail(rule: PathRule): never {
  // The rule, not the path, goes into the error: paths are user input and may carry anything.
  throw invalid(MESSAGES[rule], { reason: 'invalid_path', rule });
}

function checkCommon(path: unknown): asserts path is string {
  if (typeof path !== 'string') fail('type');
  if (Buffer.byteLength(path, 'utf8') > MAX_SECRET_PATH_BYTES) fail('too_long');
  if (CONTROL.test(path)) fail('control_char');
  if (!ALLOWED.test(path)) fail('bad_char');
  if (path.startsWith('/')) fail('leading_slash');
}

function checkSegments(segments: string[]): void {
  if (segments.length > MAX_SECRET_PATH_SEGMENTS) fail('too_many_segments');
  for (const segment of segments) {
    if (segment === '') fail('empty_segment');
    if (segment === '.' || segment === '..') fail('dot_segment');
  }
}

/** A secret's path inside its mount ('app/db'). Throws 'invalid' with details.rule naming the broken rule. */
export function validateSecretPath(path: string): string {
  checkCommon(path);
  if (path === '') fail('empty');
  if (path.endsWith('/')) fail('trailing_slash');
  checkSegments(path.split('/'));
  return path;
}

/** A list prefix: '' (the mount root) or a folder path ending in '/'. A prefix without the slash gets one. */
export function validateListPrefix(prefix: string): string {
  checkCommon(prefix);
  if (prefix === '') return '';
  const folder = prefix.endsWith('/') ? prefix : `${prefix}/`;
  if (Buffer.byteLength(folder, 'utf8') > MAX_SECRET_PATH_BYTES) fail('too_long');
  checkSegments(folder.slice(0, -1).split('/'));
  return folder;
}
