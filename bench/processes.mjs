// Child processes for bench/run.mjs: servers started and stopped by the run, and load runs in their own process.
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { cpuSeconds } from './proc.mjs';

export const ROOT = fileURLToPath(new URL('..', import.meta.url));
export const BENCH = join(ROOT, 'bench');

/** Every process this run started, so a failure anywhere still stops them all. */
const children = [];

/**
 * Spawns `command args` and waits for a line matching `ready` on stdout or stderr (`command` defaults to node).
 * Resolves with { name, proc, match, exited }; with `ready` null, as soon as the process is spawned (the caller polls).
 */
export function startProcess(name, args, ready, { command = process.execPath, env } = {}) {
  const proc = spawn(command, args, {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
    ...(env ? { env: { ...process.env, ...env } } : {}),
  });
  const child = {
    name,
    proc,
    match: null,
    exited: new Promise((resolve) => proc.once('exit', (code, signal) => resolve(code ?? signal))),
  };
  children.push(child);
  let output = '';
  return new Promise((resolve, reject) => {
    if (ready === null) {
      child.match = [];
      proc.stdout.resume();
      proc.stderr.resume();
      proc.once('spawn', () => resolve(child));
      proc.once('error', (err) => reject(new Error(`${name} could not be started: ${err.message}`)));
      return;
    }
    const timer = setTimeout(() => reject(new Error(`${name} did not start within 30 s:\n${output}`)), 30_000);
    const onData = (chunk) => {
      // Keep only the tail: a server logging every request must not grow this string for the whole run.
      output = (output + chunk).slice(-20_000);
      const match = ready.exec(output);
      if (match && !child.match) {
        child.match = match;
        clearTimeout(timer);
        resolve(child);
      }
    };
    proc.stdout.setEncoding('utf8').on('data', onData);
    proc.stderr.setEncoding('utf8').on('data', onData);
    proc.once('error', (err) => {
      clearTimeout(timer);
      reject(new Error(`${name} could not be started: ${err.message}`));
    });
    void child.exited.then((code) => {
      clearTimeout(timer);
      if (!child.match) reject(new Error(`${name} exited with ${code} before it was ready:\n${output}`));
    });
  });
}

export async function stopProcess(child) {
  if (child.proc.exitCode !== null || child.proc.signalCode !== null) return;
  child.proc.kill('SIGTERM');
  const timeout = new Promise((resolve) => setTimeout(() => resolve('timeout'), 15_000).unref());
  if ((await Promise.race([child.exited, timeout])) === 'timeout') child.proc.kill('SIGKILL');
}

export function stopAll() {
  return Promise.all(children.map((child) => stopProcess(child)));
}

/** One bench/load.mjs run; resolves with its JSON line. */
export function runLoad(label, args) {
  return new Promise((resolve, reject) => {
    const proc = spawn(process.execPath, [join(BENCH, 'load.mjs'), ...args], {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    proc.stdout.setEncoding('utf8').on('data', (chunk) => (out += chunk));
    proc.once('exit', (code) => {
      if (code !== 0) return reject(new Error(`load generator for ${label} exited with ${code}`));
      resolve({ label, ...JSON.parse(out.trim().split('\n').pop()) });
    });
  });
}

/**
 * One load run against the process `serverPid`; adds the CPU that process spent per request (every thread, warm-up
 * included), a figure the shared machine's noise moves far less than req/s.
 */
export async function load(label, args, serverPid) {
  process.stdout.write(`  loading ${label} ...`);
  const cpuBefore = cpuSeconds(serverPid);
  const result = await runLoad(label, args);
  const cpuAfter = cpuSeconds(serverPid);
  const served = result.requests + (result.warmupRequests ?? 0);
  result.served = served;
  result.cpuUs = Number.isFinite(cpuAfter - cpuBefore) && served > 0 ? ((cpuAfter - cpuBefore) / served) * 1e6 : null;
  process.stdout.write(` ${Math.round(result.rps)} req/s\n`);
  return result;
}

/** Runs a node script with inherited output; resolves with its exit code. */
export function runInherited(script, args = []) {
  return new Promise((resolve) => {
    const proc = spawn(process.execPath, [script, ...args], { cwd: ROOT, stdio: 'inherit' });
    proc.once('exit', (code, signal) => resolve(code ?? (signal ? 1 : 0)));
  });
}

/** Runs `command args` to completion; resolves with { code, stdout, ms } (wall time from spawn to exit). */
export function timeCommand(command, args, env) {
  return new Promise((resolve, reject) => {
    const started = process.hrtime.bigint();
    const proc = spawn(command, args, {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, ...env },
    });
    let stdout = '';
    let stderr = '';
    proc.stdout.setEncoding('utf8').on('data', (chunk) => (stdout += chunk));
    proc.stderr.setEncoding('utf8').on('data', (chunk) => (stderr += chunk));
    proc.once('error', reject);
    proc.once('exit', (code) => {
      const ms = Number(process.hrtime.bigint() - started) / 1e6;
      resolve({ code, stdout, stderr, ms });
    });
  });
}

/** The address a `strongroom server` child prints once it listens; rejects if it exits first. */
export function listeningUrl(child) {
  return new Promise((resolve, reject) => {
    let output = '';
    const onData = (chunk) => {
      output += chunk;
      const match = /server listening on (\S+)/.exec(output);
      if (match) resolve(match[1]);
    };
    child.stdout.setEncoding('utf8').on('data', onData);
    child.stderr.setEncoding('utf8').on('data', onData);
    child.once('exit', (code) => reject(new Error(`the server exited with ${code} before it was ready:\n${output}`)));
  });
}

/** A minimal client of the store's HTTP API for bench set-up: throws on any non-2xx answer. */
export function vaultApi(url) {
  return async (method, path, token, body) => {
    const response = await fetch(`${url}/v1/${path}`, {
      method,
      headers: { 'x-vault-token': token, ...(body ? { 'content-type': 'application/json' } : {}) },
      ...(body ? { body: JSON.stringify(body) } : {}),
    });
    const text = await response.text();
    if (!response.ok) throw new Error(`${method} ${path} answered ${response.status}: ${text}`);
    return text ? JSON.parse(text) : null;
  };
}
