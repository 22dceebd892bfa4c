import { definePath, type BackendPath } from '../../logical/backend.js';
import { f } from '../../logical/schema.js';
import type { PasswordPolicyService } from '../../passwords/types.js';
import { invalid } from '../../shared/errors.js';

const NAME = '(?<name>[^/]+)';

/**
 * Vault's password policy endpoints (sys/policies/password): LIST the names, PUT/GET/DELETE a policy's HCL text, and
 * GET `<name>/generate` for a password. `default/generate` answers from the built-in default policy while no policy
 * named `default` is stored (our extension, so a script can ask for a password without writing a policy first).
 * Ordinary ACL paths, no sudo, as in Vault.
 */
export function passwordPolicyPaths(deps: { passwords: PasswordPolicyService }): BackendPath[] {
  const { passwords } = deps;
  return [
    {
      name: 'sys.policies.password.list',
      pattern: 'policies/password/?',
      synopsis: 'Lists the password policies.',
      operations: {
        list: async () => ({ data: { keys: await passwords.list() } }),
        read: async () => ({ data: { keys: await passwords.list() } }),
      },
    },
    {
      name: 'sys.policies.password.generate',
      pattern: `policies/password/${NAME}/generate`,
      synopsis: 'Generates a password from a password policy.',
      operations: {
        read: async (ctx) => ({ data: { password: await passwords.generate(ctx.params.name!) } }),
      },
    },
    definePath({
      name: 'sys.policies.password',
      pattern: `policies/password/${NAME}`,
      synopsis: 'Reads, writes or deletes a password policy.',
      fields: { policy: f.string('The password policy (HCL or JSON; may be base64-encoded).') },
      operations: {
        read: async (ctx) => ({ data: { policy: await passwords.read(ctx.params.name!) } }),
        update: async (ctx) => {
          if (ctx.input.policy === undefined || ctx.input.policy === '') throw invalid('missing policy');
          await passwords.write(ctx.params.name!, ctx.input.policy);
        },
        delete: async (ctx) => void (await passwords.delete(ctx.params.name!)),
      },
    }),
  ];
}
