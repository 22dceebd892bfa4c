/** Validation the API server applies to every object (metadata) and helpers for type-specific rules. */
import type { Obj } from './registry.js';
import { isValidLabelKey, isValidLabelValue } from './selectors.js';
import { cause, type StatusCause } from './status.js';

const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

export const isDnsSubdomain = (s: string) => s.length <= 253 && DNS_SUBDOMAIN.test(s);
export const isDnsLabel = (s: string) => s.length <= 63 && DNS_LABEL.test(s);

export type NameRule = 'subdomain' | 'label' | 'path-segment';

export function validateMetadata(object: Obj, nameRule: NameRule): StatusCause[] {
  const causes: StatusCause[] = [];
  const meta = object.metadata ?? {};
  const name = meta.name;
  if (typeof name !== 'string' || name === '') {
    causes.push(cause.required('metadata.name', 'name or generateName is required'));
  } else {
    const ok =
      nameRule === 'label'
        ? isDnsLabel(name)
        : nameRule === 'subdomain'
          ? isDnsSubdomain(name)
          : !/[/%]/.test(name) && name !== '.' && name !== '..';
    if (!ok) {
      const rule =
        nameRule === 'label'
          ? "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character"
          : "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character";
      causes.push(cause.invalid('metadata.name', name, rule));
    }
  }
  const labels = meta.labels;
  if (labels !== undefined && labels !== null) {
    if (typeof labels !== 'object' || Array.isArray(labels))
      causes.push(cause.typeInvalid('metadata.labels', labels, 'must be a map'));
    else
      for (const [key, value] of Object.entries(labels)) {
        if (!isValidLabelKey(key))
          causes.push(cause.invalid('metadata.labels', key, 'name part must be a valid label key'));
        if (typeof value !== 'string' || !isValidLabelValue(value)) {
          causes.push(
            cause.invalid(
              `metadata.labels`,
              value,
              "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.' (at most 63)",
            ),
          );
        }
      }
  }
  const annotations = meta.annotations;
  if (annotations !== undefined && annotations !== null) {
    let total = 0;
    for (const [key, value] of Object.entries(annotations as Record<string, unknown>)) {
      if (!isValidLabelKey(key))
        causes.push(cause.invalid('metadata.annotations', key, 'name part must be a valid annotation key'));
      if (typeof value !== 'string')
        causes.push(cause.typeInvalid(`metadata.annotations`, value, 'annotation values must be strings'));
      else total += key.length + value.length;
    }
    if (total > 256 * 1024) causes.push(cause.tooLong('metadata.annotations', 256 * 1024));
  }
  const finalizers = meta.finalizers;
  if (finalizers !== undefined && finalizers !== null) {
    if (!Array.isArray(finalizers) || finalizers.some((f) => typeof f !== 'string')) {
      causes.push(cause.typeInvalid('metadata.finalizers', finalizers, 'must be a list of strings'));
    }
  }
  const owners = meta.ownerReferences;
  if (Array.isArray(owners)) {
    owners.forEach((ref: Record<string, unknown>, i) => {
      for (const field of ['apiVersion', 'kind', 'name', 'uid']) {
        if (typeof ref?.[field] !== 'string' || ref[field] === '')
          causes.push(cause.required(`metadata.ownerReferences[${i}].${field}`));
      }
    });
    if (owners.filter((o: Record<string, unknown>) => o?.controller === true).length > 1) {
      causes.push(
        cause.invalid('metadata.ownerReferences', 'controller', 'Only one reference can have Controller set to true'),
      );
    }
  }
  return causes;
}

export function field(object: unknown, path: string): unknown {
  let current = object;
  for (const part of path.split('.')) {
    if (current === null || typeof current !== 'object') return undefined;
    current = (current as Record<string, unknown>)[part];
  }
  return current;
}
