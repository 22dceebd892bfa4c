/**
 * Password policies (Vault's sys/policies/password): named HCL rules (length, charset rules with minimums) that
 * generate passwords. The database engine generates every password it sets through them; `sys/policies/password/
 * <name>/generate` and the CLI offer them for KV values.
 */
export interface PasswordGenerator {
  /**
   * A fresh password from the named policy, or from the default policy when `policyName` is undefined or empty
   * (Vault's default for database credentials: 20 characters of letters, digits and '-', at least one of each kind).
   * Throws `not_found` when the named policy does not exist.
   */
  generate(policyName?: string): Promise<string>;
}
