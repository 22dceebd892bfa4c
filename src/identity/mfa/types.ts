import type { TotpAlgorithm } from './totp.js';

/**
 * Vault's login MFA (identity/mfa/...): MFA methods (TOTP here), per-(method, entity) TOTP secrets, and login
 * enforcements that say which logins need which methods. The login service asks the gate (gate.ts) at every login;
 * administrators manage methods, secrets and enforcements through the service (service.ts) and its paths (routes.ts).
 */

/** A TOTP method's settings (Vault's field names in routes.ts). */
export interface TotpSettings {
  issuer: string;
  /** Seconds. */
  period: number;
  /** Bytes of a generated key. */
  keySize: number;
  /** Pixels of the enrolment QR code; 0 = no barcode. */
  qrSize: number;
  algorithm: TotpAlgorithm;
  digits: 6 | 8;
  skew: 0 | 1;
  /** Failed validations allowed per (method, entity) within one period. */
  maxValidationAttempts: number;
}

export interface TotpMethod {
  id: string;
  /** Vault's method_name: optional, unique when set; usable in place of the id in MFA credentials. */
  name: string;
  type: 'totp';
  settings: TotpSettings;
}

/** Vault's login enforcement: a login needs one of `methodIds` when it matches any of the four targets. */
export interface LoginEnforcement {
  name: string;
  id: string;
  methodIds: string[];
  authMethodAccessors: string[];
  authMethodTypes: string[];
  identityGroupIds: string[];
  identityEntityIds: string[];
}

export type EnforcementInput = { methodIds?: string[] } & Partial<
  Pick<LoginEnforcement, 'authMethodAccessors' | 'authMethodTypes' | 'identityGroupIds' | 'identityEntityIds'>
>;

/** What a TOTP secret was generated with: kept beside it, so changing the method later never breaks an enrolment. */
export type TotpEnrolment = Pick<TotpSettings, 'algorithm' | 'digits' | 'period' | 'skew'>;

/**
 * What the MFA service needs to know about the rest of the store, to refuse references to things that do not exist
 * (as Vault does): entities and groups (the identity store) and auth mounts (sys/auth).
 */
export interface MfaDirectory {
  entityExists(entityId: string): Promise<boolean>;
  groupExists(groupId: string): Promise<boolean>;
  authMounts(): Promise<ReadonlyArray<{ accessor: string; type: string }>>;
}

/** A method write as given: the service validates every value (Vault's rules and wording). */
export type TotpSettingsInput = Partial<Record<keyof TotpSettings, unknown>> & { name?: string };

export interface MfaService {
  createTotpMethod(settings: TotpSettingsInput): Promise<string>;
  /** Replaces the settings (fields left out take Vault's defaults, as Vault's update does); 'not_found' when absent. */
  updateTotpMethod(id: string, settings: TotpSettingsInput): Promise<void>;
  readMethod(id: string): Promise<TotpMethod | undefined>;
  listMethods(): Promise<TotpMethod[]>;
  /** Refused while an enforcement uses it; deletes the method's secrets with it. */
  deleteMethod(id: string): Promise<void>;
  /**
   * A new secret for the entity (Vault's generate / admin-generate): undefined when the entity already has one for
   * this method (Vault answers with a warning and changes nothing).
   */
  generateTotpSecret(methodId: string, entityId: string): Promise<{ url: string; barcode: string } | undefined>;
  destroyTotpSecret(methodId: string, entityId: string): Promise<void>;
  /**
   * Creates or updates an enforcement. `methodIds` is required every time; a target list left out keeps its stored
   * value (Vault's update), and at least one target must name something afterwards.
   */
  writeEnforcement(name: string, input: EnforcementInput): Promise<void>;
  readEnforcement(name: string): Promise<LoginEnforcement | undefined>;
  listEnforcements(): Promise<LoginEnforcement[]>;
  deleteEnforcement(name: string): Promise<void>;
}
