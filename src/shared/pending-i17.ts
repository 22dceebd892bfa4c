// TODO(i17): interim wiring while the leases and password-policy services are built on their branches; each branch
// replaces its half in src/server/store.ts and test/support/pipeline-harness.ts, and the last one deletes this file.
import type { SystemAudit } from '../logical/module.js';
import type { LeaseRegistrar } from '../leases/types.js';
import type { PasswordGenerator } from '../passwords/types.js';

export const PENDING_I17_LEASES: LeaseRegistrar = {
  create: () => Promise.reject(new Error('leases are not wired yet')),
};
export const PENDING_I17_PASSWORDS: PasswordGenerator = {
  generate: () => Promise.reject(new Error('password policies are not wired yet')),
};
export const PENDING_I17_SYSTEM_AUDIT: SystemAudit = {
  run: () => Promise.reject(new Error('system audit is not wired yet')),
};
