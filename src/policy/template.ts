import type { PolicyIdentity } from './types.js';

/**
 * Vault's templated policy paths (https://developer.hashicorp.com/vault/docs/concepts/policies#templated-policies,
 * sdk/helper/identitytpl): `path "secret/data/{{identity.entity.id}}/*"` names a different path for every entity.
 *
 * Syntax, as Vault reads it: the text is split on '{{'; the text before the first '{{' must not contain '}}', and
 * every later piece must contain '}}' exactly once (otherwise "unbalanced templating characters"). What lies between
 * the braces is trimmed of surrounding whitespace (Go's strings.TrimSpace) and must be one of:
 *
 *   identity.entity.id | identity.entity.name | identity.entity.metadata.<key>
 *   identity.entity.aliases.<mount accessor>.(id | name | metadata.<key> | custom_metadata.<key>)
 *   identity.groups.ids.<group id>.(id | name | metadata.<key>)
 *   identity.groups.names.<group name>.(id | name | metadata.<key>)
 *
 * A key is everything after 'metadata.' (it may contain dots); an accessor, group id or group name ends at the next
 * dot, as in Vault. Stricter than Vault, the selector is checked when the policy is written: Vault accepts any text
 * between balanced braces and only fails (skipping the path) at use, so a typo silently grants nothing forever.
 * Selectors Vault has that can never resolve in an ACL path (a whole metadata map, the entity's group lists, time.*)
 * are refused too.
 *
 * Resolution: the first alias with the mount accessor, the first group with the id or name. A directive that names
 * something the identity does not have makes the whole path unresolvable: the rule is skipped (grants nothing, and
 * its deny does not apply either), as in Vault. Beyond Vault (which refuses only '*' and '+'), a substituted value
 * that is empty, contains '*', '+', '{{' or '}}', or has an empty or '..' segment also makes the path unresolvable,
 * so identity data (an alias name, metadata an identity provider sets) can never turn a path into a glob, step out
 * of its directory, or be read as another template.
 */

/** A template the policy cannot use; `offset` is where the bad directive starts in the pattern (0-based). */
export class TemplateSyntaxError extends Error {
  constructor(
    message: string,
    readonly offset: number,
  ) {
    super(message);
    this.name = 'TemplateSyntaxError';
  }
}

type Lookup = (identity: PolicyIdentity) => string | undefined;

export interface PathTemplate {
  /** The pattern as written. */
  readonly source: string;
  /** The pattern with every directive replaced, or undefined when one cannot be resolved (or would be unsafe). */
  resolve(identity: PolicyIdentity | undefined): string | undefined;
}

/** Whether a pattern uses templating at all (or has a stray '}}', which parsing refuses). */
export function isTemplated(pattern: string): boolean {
  return pattern.includes('{{') || pattern.includes('}}');
}

/**
 * Parses a path pattern's templates. Undefined for a plain pattern; throws TemplateSyntaxError for unbalanced
 * braces or a directive that is not one of the selectors above.
 */
export function parsePathTemplate(pattern: string): PathTemplate | undefined {
  if (!isTemplated(pattern)) return undefined;
  const pieces = pattern.split('{{');
  if (pieces[0]!.includes('}}')) throw unbalanced(pieces[0]!.indexOf('}}'));
  // Literal text and lookups alternate: literals[i] precedes lookups[i]; the last literal follows the last lookup.
  const literals: string[] = [pieces[0]!];
  const lookups: Lookup[] = [];
  let offset = pieces[0]!.length;
  for (const piece of pieces.slice(1)) {
    const parts = piece.split('}}');
    if (parts.length !== 2) throw unbalanced(offset);
    lookups.push(parseDirective(goTrimSpace(parts[0]!), offset));
    literals.push(parts[1]!);
    offset += 2 + piece.length;
  }
  return {
    source: pattern,
    resolve(identity) {
      if (!identity) return undefined;
      let out = literals[0]!;
      for (let i = 0; i < lookups.length; i++) {
        const value = lookups[i]!(identity);
        if (value === undefined || !isSafeValue(value)) return undefined;
        out += value + literals[i + 1]!;
      }
      return out;
    },
  };
}

function unbalanced(offset: number): TemplateSyntaxError {
  return new TemplateSyntaxError("unbalanced templating characters ('{{' and '}}' must pair up)", offset);
}

/** The substituted value stays one literal stretch of path: never a glob, a template, or a step out of its place. */
export function isSafeValue(value: string): boolean {
  if (value === '' || /[*+]/.test(value) || value.includes('{{') || value.includes('}}')) return false;
  for (const segment of value.split('/')) if (segment === '' || segment === '..') return false;
  return true;
}

/** Own-property lookup, so a key like "constructor" or "__proto__" never reaches Object.prototype. */
function own(map: Readonly<Record<string, string>>, key: string): string | undefined {
  return Object.prototype.hasOwnProperty.call(map, key) ? map[key] : undefined;
}

/** Splits at the first '.', as Go's strings.SplitN(s, ".", 2); undefined when there is no dot. */
function splitFirst(text: string): [string, string] | undefined {
  const dot = text.indexOf('.');
  return dot < 0 ? undefined : [text.slice(0, dot), text.slice(dot + 1)];
}

function parseDirective(selector: string, offset: number): Lookup {
  const fail = (why: string) => new TemplateSyntaxError(`invalid template {{${selector}}}: ${why}`, offset);
  if (selector.startsWith('identity.entity.')) return entityLookup(selector.slice('identity.entity.'.length), fail);
  if (selector.startsWith('identity.groups.')) return groupLookup(selector.slice('identity.groups.'.length), fail);
  if (selector.startsWith('time.')) throw fail('time templates cannot be used in policy paths');
  throw fail('expected identity.entity.<...> or identity.groups.<...>');
}

type Fail = (why: string) => TemplateSyntaxError;

/** `<name>.<key>` selectors of a string map ('metadata.team'); undefined when `rest` is not one. */
function mapKey(rest: string, name: string, fail: Fail): string | undefined {
  if (rest === name) throw fail(`${name} needs a key (${name}.<key>)`);
  if (!rest.startsWith(`${name}.`)) return undefined;
  const key = rest.slice(name.length + 1);
  if (key === '') throw fail(`${name} needs a key (${name}.<key>)`);
  return key;
}

function entityLookup(rest: string, fail: Fail): Lookup {
  if (rest === 'id') return (identity) => identity.entity.id;
  if (rest === 'name') return (identity) => identity.entity.name;
  const key = mapKey(rest, 'metadata', fail);
  if (key !== undefined) return (identity) => own(identity.entity.metadata, key);
  if (rest === 'groups.names' || rest === 'groups.ids') throw fail('a list of groups cannot be part of a path');
  if (rest.startsWith('aliases.')) return aliasLookup(rest.slice('aliases.'.length), fail);
  throw fail('expected id, name, metadata.<key> or aliases.<mount accessor>.<field> after identity.entity');
}

function aliasLookup(rest: string, fail: Fail): Lookup {
  const split = splitFirst(rest);
  if (!split || split[0] === '') throw fail('expected aliases.<mount accessor>.<field>');
  const [accessor, field] = split;
  type Alias = PolicyIdentity['entity']['aliases'][number];
  let read: (alias: Alias) => string | undefined;
  const metadataKey = mapKey(field, 'metadata', fail);
  const customKey = metadataKey === undefined ? mapKey(field, 'custom_metadata', fail) : undefined;
  if (field === 'id') read = (alias) => alias.id;
  else if (field === 'name') read = (alias) => alias.name;
  else if (metadataKey !== undefined) read = (alias) => own(alias.metadata, metadataKey);
  else if (customKey !== undefined) read = (alias) => own(alias.customMetadata, customKey);
  else throw fail('expected id, name, metadata.<key> or custom_metadata.<key> after the mount accessor');
  return (identity) => {
    const alias = identity.entity.aliases.find((a) => a.mountAccessor === accessor);
    return alias ? read(alias) : undefined;
  };
}

function groupLookup(rest: string, fail: Fail): Lookup {
  const bySplit = splitFirst(rest);
  if (!bySplit || (bySplit[0] !== 'ids' && bySplit[0] !== 'names')) {
    throw fail('expected identity.groups.ids.<group id>.<field> or identity.groups.names.<group name>.<field>');
  }
  const byId = bySplit[0] === 'ids';
  const split = splitFirst(bySplit[1]);
  if (!split || split[0] === '') throw fail(`expected identity.groups.${bySplit[0]}.<group>.<field>`);
  const [wanted, field] = split;
  type Group = PolicyIdentity['groups'][number];
  let read: (group: Group) => string | undefined;
  const metadataKey = mapKey(field, 'metadata', fail);
  if (field === 'id') read = (group) => group.id;
  else if (field === 'name') read = (group) => group.name;
  else if (metadataKey !== undefined) read = (group) => own(group.metadata, metadataKey);
  else throw fail('expected id, name or metadata.<key> after the group');
  return (identity) => {
    const group = identity.groups.find((g) => (byId ? g.id : g.name) === wanted);
    return group ? read(group) : undefined;
  };
}

/** Go's unicode.IsSpace set, which strings.TrimSpace (Vault's trim inside the braces) strips from both ends. */
const GO_SPACE =
  /^[\t\n\v\f\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]+|[\t\n\v\f\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]+$/g;

function goTrimSpace(text: string): string {
  return text.replace(GO_SPACE, '');
}
