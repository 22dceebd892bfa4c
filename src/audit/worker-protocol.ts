import type { MessagePort } from 'node:worker_threads';
import { StrongroomError, type ErrorKind } from '../shared/errors.js';
import type { StorageConfig } from '../storage/database.js';
import type { AuditEvent, AuditSinkInfo } from './types.js';

/**
 * Messages between the request thread and the audit thread (see threaded.ts). Everything crosses by structured
 * clone; errors cross as their kind, message and details (never a stack or a cause, which could carry values).
 */
export interface AuditWorkerData {
  hmacKey: Uint8Array;
  storage: StorageConfig;
  /** One Int32: the open device count, stored before every answer so every request thread reads it current. */
  devices: SharedArrayBuffer;
  nodeId?: string;
  files?: { nodeName: string; allowedDirs: readonly string[] | null };
  localDevices?: readonly AuditSinkInfo[];
}

/** Methods answered by the audit thread one call at a time (configuration and queries, not the hot path). */
export type AuditCallMethod =
  'enable' | 'disable' | 'list' | 'query' | 'queryPage' | 'reopen' | 'verifyDatabaseChain' | 'verifyDevices' | 'close';

export type ToWorker =
  /** Entries of several requests, gathered during one turn of the request thread's event loop. */
  | { kind: 'log'; entries: ReadonlyArray<{ id: number; events: readonly AuditEvent[] }> }
  | { kind: 'call'; id: number; method: AuditCallMethod; args: unknown[] }
  /** From the main thread only: another request thread's way in, served like the main thread's own (not `close`). */
  | { kind: 'attach'; port: MessagePort };

export type FromWorker =
  /** `devices`: how many audit devices the thread has open (see `devices` on results). */
  | { kind: 'ready'; nodeId: string; devices: number }
  | { kind: 'open-failed'; error: WireError }
  /** Entries now durable on every device (`ok`) or refused (`failed`): settled in batches, not one message each. */
  | { kind: 'settled'; ok: number[]; failed: Array<{ id: number; error: WireError }> }
  /** `devices`: how many audit devices are open once the call is done (absent when the service is closed). */
  | { kind: 'result'; id: number; ok: true; value: unknown; devices?: number }
  | { kind: 'result'; id: number; ok: false; error: WireError; devices?: number };

export interface WireError {
  kind: ErrorKind;
  message: string;
  details?: Record<string, unknown>;
}

export function toWire(err: unknown): WireError {
  if (err instanceof StrongroomError) {
    return { kind: err.kind, message: err.message, ...(err.details ? { details: { ...err.details } } : {}) };
  }
  // A foreign error's message may come from a driver or the OS; it names files and syscalls, not secret values.
  const message = err instanceof Error ? err.message : 'audit thread failure';
  return { kind: 'unavailable', message };
}

export function fromWire(wire: WireError): StrongroomError {
  return new StrongroomError(wire.kind, wire.message, wire.details);
}
