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

/** One `rule "charset"` block: the characters it adds to the pool and how many of them a password must hold. */
export interface CharsetRule {
  /** The rule's characters as written, de-duplicated, in order of first appearance (code points, not UTF-16 units). */
  charset: readonly string[];
  /** At least this many characters of the password come from `charset` (0: the rule only widens the pool). */
  minChars: number;
}

/** A parsed, validated password policy. */
export interface PasswordPolicy {
  length: number;
  rules: readonly CharsetRule[];
}

/** The sys/policies/password endpoints' view of the domain; also the core's PasswordGenerator. */
export interface PasswordPolicyService extends PasswordGenerator {
  /**
   * Stores a policy (insert or replace) after parsing it and checking that it can actually produce passwords, as
   * Vault does before saving. `text` may be base64-encoded (Vault's API allows it). Throws `invalid` with Vault's
   * wording for a bad policy.
   */
  write(name: string, text: string): Promise<void>;
  /** The policy text as stored. Throws `not_found` ("policy does not exist"). */
  read(name: string): Promise<string>;
  /** Deletes a policy; no error when it does not exist (Vault's behaviour). */
  delete(name: string): Promise<void>;
  /** Stored policy names, sorted. The built-in default is not listed. */
  list(): Promise<string[]>;
}
