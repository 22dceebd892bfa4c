import { expect } from 'vitest';
import { send, type Shape, type WireReply, type WireRequest } from './wire-clients.js';

/**
 * One client shape against one server, with the two checks every compatibility case makes: a success is the status
 * with no errors and exactly `application/json`; a failure is the status, `application/json`, and (when given)
 * Vault's words among the errors the client itself extracts.
 */
export function wireSession(shape: Shape, server: () => { url: string; rootToken: string }) {
  const call = (req: WireRequest) => send(shape, server().url, req);
  const root = (method: WireRequest['method'], path: string, body?: unknown, headers?: Record<string, string>) =>
    call({
      method,
      path,
      token: server().rootToken,
      ...(body !== undefined ? { body } : {}),
      ...(headers ? { headers } : {}),
    });
  const ok = (reply: WireReply, status = 200) => {
    expect(reply.errors).toEqual([]);
    expect(reply.status).toBe(status);
    if (status !== 204) expect(reply.contentType).toBe('application/json');
  };
  const failed = (reply: WireReply, status: number, words?: string) => {
    expect(reply.status).toBe(status);
    expect(reply.contentType).toBe('application/json');
    if (words !== undefined) expect(reply.errors.join('\n')).toContain(words);
  };
  return { call, root, ok, failed };
}
