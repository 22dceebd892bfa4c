/** An answer of the server other than 2xx, with Vault's `errors` list and the path asked. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly errors: string[],
    readonly path: string,
  ) {
    super(errors.length > 0 ? errors.join('; ') : `the server answered ${status} for ${path}`);
    this.name = 'ApiError';
  }

  get permissionDenied(): boolean {
    return this.status === 403;
  }

  get notFound(): boolean {
    return this.status === 404;
  }
}
