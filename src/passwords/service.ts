import { StrongroomError, invalid, notFound } from '../shared/errors.js';
import type { Storage } from '../storage/database.js';
import { DEFAULT_POLICY, checkGenerates, generatePassword, type RandomInt } from './generator.js';
import { parsePasswordPolicy } from './parser.js';
import { createPasswordPolicyRepository } from './repository.js';
import type { PasswordPolicy, PasswordPolicyService } from './types.js';

export interface PasswordPolicyServiceDeps {
  storage: Pick<Storage, 'db'>;
  /** Epoch milliseconds; injectable so tests can move time. */
  clock?: () => number;
  /** Uniform integer in [0, max); crypto.randomInt unless a test injects one. */
  randomInt?: RandomInt;
}

/**
 * The name under which the built-in default policy answers `sys/policies/password/default/generate` while no
 * policy of that name is stored (an extension: Vault has no path for its default). A stored `default` wins there;
 * `generate()` without a name always uses the built-in, as Vault's engines do.
 */
export const DEFAULT_POLICY_NAME = 'default';

/** Letters, digits, '_', '.' and '-' (stricter than Vault, which takes any name: names end up in paths and URLs). */
const NAME = /^[A-Za-z0-9_.-]{1,128}$/;

function checkName(name: string): string {
  if (!NAME.test(name))
    throw invalid("password policy names are 1 to 128 characters: letters, digits, '_', '.' and '-'");
  return name;
}

/** Vault accepts the policy base64-encoded (to spare JSON escaping); text that is not strict base64 is taken as is. */
function decodeOptionalBase64(text: string): string {
  const compact = text.replace(/[\r\n]/g, '');
  if (compact === '' || compact.length % 4 !== 0 || !/^[A-Za-z0-9+/]*={0,2}$/.test(compact)) return text;
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(Buffer.from(compact, 'base64'));
  } catch {
    return text;
  }
}

export function createPasswordPolicyService(deps: PasswordPolicyServiceDeps): PasswordPolicyService {
  const repository = createPasswordPolicyRepository(deps.storage);
  const clock = deps.clock ?? Date.now;
  const options = deps.randomInt ? { randomInt: deps.randomInt } : {};
  // Parsed policies by their text: a policy used for every credential is parsed once, and a changed text (another
  // replica's write) is simply a different key. Bounded: old texts are dropped first.
  const parsed = new Map<string, PasswordPolicy>();
  const parse = (text: string): PasswordPolicy => {
    let policy = parsed.get(text);
    if (!policy) {
      policy = parsePasswordPolicy(text);
      if (parsed.size >= 256) parsed.delete(parsed.keys().next().value!);
      parsed.set(text, policy);
    }
    return policy;
  };

  function generateFrom(policy: PasswordPolicy): string {
    const password = generatePassword(policy, options);
    if (password === undefined)
      throw new StrongroomError(
        'internal',
        'failed to generate password from policy: no candidate met every rule within the attempt budget',
      );
    return password;
  }

  return {
    async write(name, text) {
      checkName(name);
      if (typeof text !== 'string' || text.trim() === '') throw invalid('missing policy');
      const policyText = decodeOptionalBase64(text);
      const policy = parsePasswordPolicy(policyText);
      const problem = checkGenerates(policy, options);
      if (problem) throw invalid(problem);
      await repository.put(name, policyText, clock());
    },

    async read(name) {
      checkName(name);
      const text = await repository.get(name);
      if (text === undefined) throw notFound('policy does not exist');
      return text;
    },

    async delete(name) {
      checkName(name);
      await repository.remove(name);
    },

    list: () => repository.listNames(),

    async generate(policyName) {
      if (policyName === undefined || policyName === '') return generateFrom(DEFAULT_POLICY);
      checkName(policyName);
      const text = await repository.get(policyName);
      if (text === undefined) {
        if (policyName === DEFAULT_POLICY_NAME) return generateFrom(DEFAULT_POLICY);
        throw notFound('policy does not exist');
      }
      let policy: PasswordPolicy;
      try {
        policy = parse(text);
      } catch {
        // Stored policies were parsed on write; failing now means the rules changed under them (Vault: a 500).
        throw new StrongroomError('internal', 'stored password policy configuration failed to parse');
      }
      return generateFrom(policy);
    },
  };
}
