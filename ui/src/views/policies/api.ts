import { ApiError, api } from '../../api/client.js';
import type { PathExplanation, PolicyProblem } from './model.js';

/** The policies view's requests: Vault's sys/policies/acl and sys/capabilities*, and Strongroom's dry run and explain. */

export async function listPolicies(signal: AbortSignal): Promise<string[]> {
  return api.list('sys/policies/acl', { signal });
}

export async function readPolicy(name: string, signal: AbortSignal): Promise<string> {
  const res = await api.read<{ name: string; policy: string }>(`sys/policies/acl/${name}`, { signal });
  return res.data.policy;
}

export async function writePolicy(name: string, text: string): Promise<void> {
  await api.write(`sys/policies/acl/${name}`, { policy: text });
}

export async function deletePolicy(name: string): Promise<void> {
  await api.del(`sys/policies/acl/${name}`);
}

export interface CheckedRule {
  pattern: string;
  capabilities: string[];
  line: number;
  column: number;
}

export interface PolicyCheck {
  valid: boolean;
  errors: PolicyProblem[];
  rules: CheckedRule[];
}

/** The server's dry run: a write's checks on the text, nothing written. */
export async function checkPolicy(name: string | undefined, text: string, signal: AbortSignal): Promise<PolicyCheck> {
  const res = await api.write<PolicyCheck>(
    'sys/internal/ui/policy-check',
    { policy: text, ...(name ? { name } : {}) },
    { signal },
  );
  return res.data;
}

/** Who the simulator asks about. A token is sent in the request body only, never in a URL. */
export type Subject =
  | { kind: 'draft'; name: string; text: string }
  | { kind: 'token'; token: string }
  | { kind: 'accessor'; accessor: string }
  | { kind: 'self' };

export interface Explanation {
  subject: string;
  policies?: string[];
  paths: Record<string, PathExplanation>;
  warnings: string[];
}

function subjectBody(subject: Subject): Record<string, unknown> {
  switch (subject.kind) {
    case 'draft':
      return { policy: subject.text, name: subject.name };
    case 'token':
      return { token: subject.token };
    case 'accessor':
      return { accessor: subject.accessor };
    case 'self':
      return {};
  }
}

export async function explain(subject: Subject, path: string): Promise<Explanation> {
  try {
    const res = await api.write<Omit<Explanation, 'warnings'>>('sys/capabilities-explain', {
      ...subjectBody(subject),
      paths: [path],
    });
    return { ...res.data, warnings: res.warnings ?? [] };
  } catch (err) {
    // The default policy grants sys/capabilities-self (as Vault's) but not the explain endpoint: a person asking
    // about themselves still gets the server's answer, only without the rule that decided.
    if (!(subject.kind === 'self' && err instanceof ApiError && err.permissionDenied)) throw err;
    const capabilities = capabilitiesOf(await api.write('sys/capabilities-self', { paths: [path] }), path) ?? [];
    return {
      subject: 'self',
      paths: { [path]: { capabilities, decided_by: 'unexplained', pattern: null, grants_nothing: false, rules: [] } },
      warnings: [],
    };
  }
}

/**
 * Vault's own answer for the same subject and path (sys/capabilities, -accessor, -self), shown next to the
 * explanation so anyone can see they agree. An unsaved draft has no Vault endpoint: undefined.
 */
export async function vaultCapabilities(subject: Subject, path: string): Promise<string[] | undefined> {
  const body = { paths: [path] };
  switch (subject.kind) {
    case 'draft':
      return undefined;
    case 'token':
      return capabilitiesOf(await api.write('sys/capabilities', { ...body, token: subject.token }), path);
    case 'accessor':
      return capabilitiesOf(
        await api.write('sys/capabilities-accessor', { ...body, accessor: subject.accessor }),
        path,
      );
    case 'self':
      return capabilitiesOf(await api.write('sys/capabilities-self', body), path);
  }
}

function capabilitiesOf(res: { data: Record<string, unknown> }, path: string): string[] | undefined {
  const value = res.data[path];
  return Array.isArray(value) ? value.map(String) : undefined;
}
