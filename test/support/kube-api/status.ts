/**
 * Kubernetes `Status` errors. The real API server answers every failure with a `kind: Status` body whose `reason`
 * and `code` clients branch on (client-go's `IsNotFound`, `IsConflict`, ...), so the double builds the same shape.
 */
export interface StatusCause {
  reason: string;
  message: string;
  field?: string;
}

export interface StatusDetails {
  name?: string;
  group?: string;
  kind?: string;
  uid?: string;
  causes?: StatusCause[];
  retryAfterSeconds?: number;
}

export interface StatusObject {
  kind: 'Status';
  apiVersion: 'v1';
  metadata: Record<string, never>;
  status: 'Failure' | 'Success';
  message?: string;
  reason?: string;
  details?: StatusDetails;
  code: number;
}

export class ApiError extends Error {
  constructor(
    readonly code: number,
    readonly reason: string,
    message: string,
    readonly details?: StatusDetails,
  ) {
    super(message);
    this.name = 'ApiError';
  }

  toStatus(): StatusObject {
    const status: StatusObject = {
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message: this.message,
      reason: this.reason,
      code: this.code,
    };
    if (this.details) status.details = this.details;
    return status;
  }
}

/** How a resource is named in messages: `secrets`, `deployments.apps`, `crontabs.stable.example.com`. */
export function qualifiedResource(group: string, plural: string): string {
  return group === '' ? plural : `${plural}.${group}`;
}

export const notFoundError = (group: string, plural: string, name: string) =>
  new ApiError(404, 'NotFound', `${qualifiedResource(group, plural)} "${name}" not found`, {
    name,
    group,
    kind: plural,
  });

export const alreadyExistsError = (group: string, plural: string, name: string) =>
  new ApiError(409, 'AlreadyExists', `${qualifiedResource(group, plural)} "${name}" already exists`, {
    name,
    group,
    kind: plural,
  });

export const conflictError = (group: string, plural: string, name: string, why: string) =>
  new ApiError(
    409,
    'Conflict',
    `Operation cannot be fulfilled on ${qualifiedResource(group, plural)} "${name}": ${why}`,
    {
      name,
      group,
      kind: plural,
    },
  );

export const staleResourceVersion = (group: string, plural: string, name: string) =>
  conflictError(
    group,
    plural,
    name,
    'the object has been modified; please apply your changes to the latest version and try again',
  );

export function invalidError(kind: string, group: string, name: string, causes: StatusCause[]): ApiError {
  const qualifiedKind = group === '' ? kind : `${kind}.${group}`;
  const summary = causes.map((c) => (c.field ? `${c.field}: ${c.message}` : c.message));
  const list = summary.length === 1 ? summary[0] : `[${summary.join(', ')}]`;
  return new ApiError(422, 'Invalid', `${qualifiedKind} "${name}" is invalid: ${list}`, {
    name,
    group,
    kind,
    causes,
  });
}

export const badRequest = (message: string) => new ApiError(400, 'BadRequest', message);
export const methodNotAllowed = (message = 'the server does not allow this method on the requested resource') =>
  new ApiError(405, 'MethodNotAllowed', message);
export const unsupportedMediaType = (contentType: string) =>
  new ApiError(
    415,
    'UnsupportedMediaType',
    `the body of the request was in an unknown format - accepted media types include: application/json, application/merge-patch+json, application/strategic-merge-patch+json, application/json-patch+json (got ${contentType || 'none'})`,
  );
export const expiredError = (requested: number, oldest: number) =>
  new ApiError(410, 'Expired', `too old resource version: ${requested} (${oldest})`);
export const unauthorizedError = () => new ApiError(401, 'Unauthorized', 'Unauthorized');
export const forbiddenError = (message: string) => new ApiError(403, 'Forbidden', message);

/** Field-error causes, named like apimachinery's `field.ErrorType`s. */
export const cause = {
  required: (field: string, detail = ''): StatusCause => ({
    reason: 'FieldValueRequired',
    message: detail ? `Required value: ${detail}` : 'Required value',
    field,
  }),
  invalid: (field: string, value: unknown, detail: string): StatusCause => ({
    reason: 'FieldValueInvalid',
    message: `Invalid value: ${describeValue(value)}: ${detail}`,
    field,
  }),
  typeInvalid: (field: string, value: unknown, detail: string): StatusCause => ({
    reason: 'FieldValueTypeInvalid',
    message: `Invalid value: ${describeValue(value)}: ${detail}`,
    field,
  }),
  notSupported: (field: string, value: unknown, allowed: unknown[]): StatusCause => ({
    reason: 'FieldValueNotSupported',
    message: `Unsupported value: ${describeValue(value)}: supported values: ${allowed.map(describeValue).join(', ')}`,
    field,
  }),
  tooMany: (field: string, actual: number, max: number): StatusCause => ({
    reason: 'FieldValueTooMany',
    message: `Too many: ${actual}: must have at most ${max} items`,
    field,
  }),
  tooLong: (field: string, max: number): StatusCause => ({
    reason: 'FieldValueTooLong',
    message: `Too long: may not be more than ${max} bytes`,
    field,
  }),
  forbidden: (field: string, detail: string): StatusCause => ({
    reason: 'FieldValueForbidden',
    message: `Forbidden: ${detail}`,
    field,
  }),
};

/** Values are echoed the way apimachinery does, except long strings, which are shortened so a rejected secret value never lands in a message whole. */
function describeValue(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value.length > 64 ? `${value.slice(0, 16)}...` : value);
  if (value === null || typeof value !== 'object') return String(value);
  return Array.isArray(value) ? `[array of ${value.length}]` : '"object"';
}
