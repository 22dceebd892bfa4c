import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually } from '../support/eventually.js';
import { createTestDatabase, postgresAdminUrl, postgresSkipReason } from '../support/postgres.js';
import { startServer, type StartedServer } from '../support/server-process.js';
import {
  saboteur,
  sleep,
  startLoad,
  privatePostgresAvailable,
  startPrivatePostgres,
  unreadableWrites,
  type LoadFigures,
  type PrivatePostgres,
  type Saboteur,
} from './support-storage.js';

/**
 * Fault: the server's PostgreSQL sessions are cut (pg_terminate_backend, what a PostgreSQL restart or failover does
 * to them) while it serves concurrent reads and writes. The process must stay up, every failure in the meantime
 * must be a 503 in Vault's error shape (never a 500, never a dropped connection), every acknowledged write must be
 * readable afterwards, and the server must serve normally again once the database answers, without a restart.
 *
 * Short form: a few rounds. STRONGROOM_FAULT_FULL=1: many more, and a longer outage.
 */
const FULL = process.env.STRONGROOM_FAULT_FULL === '1';
const TERMINATE_ROUNDS = FULL ? 30 : 4;
const OUTAGE_MS = FULL ? 5_000 : 2_000;
const WORKERS = 8;
const STOP_ROUNDS = FULL ? 6 : 2;

function summary(figures: LoadFigures): string {
  return JSON.stringify({
    requests: figures.requests,
    byStatus: figures.byStatus,
    transportErrors: figures.transportErrors,
    acknowledged: figures.acknowledged.size,
    errors: Object.fromEntries(figures.errorMessages),
  });
}

describe.skipIf(postgresSkipReason !== undefined)('fault: PostgreSQL connections terminated under load', () => {
  let db: Awaited<ReturnType<typeof createTestDatabase>>;
  let server: StartedServer;
  let sab: Saboteur;

  beforeAll(async () => {
    db = await createTestDatabase();
    server = await startServer({ args: [`--database-url=${db.url}`] });
    sab = await saboteur(postgresAdminUrl!, db.url);
  });
  afterAll(async () => {
    await sab?.allowConnections(true).catch(() => undefined);
    await sab?.close();
    await server?.stop();
    await db?.drop();
  });

  const expectUp = () => {
    expect(server.proc.exitCode, `the server exited:\n${server.stderr().slice(-3000)}`).toBeNull();
    expect(server.proc.signalCode).toBeNull();
  };

  it(`stays up through ${TERMINATE_ROUNDS} rounds of terminated sessions, answers only 200 or 503, and loses no acknowledged write`, async () => {
    const load = startLoad(server.url, server.rootToken, { workers: WORKERS, prefix: 'terminated' });
    await eventually(() => load.figures.acknowledged.size >= 20, 'the load to get going');
    let sessionsCut = 0;
    for (let round = 0; round < TERMINATE_ROUNDS; round++) {
      sessionsCut += await sab.terminateAll();
      await sleep(300 + Math.floor(Math.random() * 400));
      expectUp();
    }
    const lastCut = Date.now();
    // Serving normally again: a write and a read both succeed.
    await eventually(async () => {
      const res = await fetch(`${server.url}/v1/secret/data/recovered`, {
        method: 'PUT',
        headers: { 'x-vault-token': server.rootToken, 'content-type': 'application/json' },
        body: JSON.stringify({ data: { ok: 'yes' } }),
      });
      return res.status === 200;
    }, 'a write to succeed after the last cut');
    const recoveredMs = Date.now() - lastCut;
    const figures = await load.stop();
    expectUp();
    console.log(
      `[fault postgres-terminated] rounds=${TERMINATE_ROUNDS} sessionsCut=${sessionsCut} recoveredMs=${recoveredMs} ${summary(figures)}`,
    );

    expect(sessionsCut).toBeGreaterThan(0);
    expect(figures.transportErrors, summary(figures)).toBe(0);
    expect(figures.violations).toEqual([]);
    const statuses = Object.keys(figures.byStatus).map(Number);
    expect(
      statuses.filter((s) => s !== 200 && s !== 204 && s !== 503),
      summary(figures),
    ).toEqual([]);
    expect(await unreadableWrites(server.url, server.rootToken, figures.acknowledged)).toEqual([]);
  });

  it('answers 503 while the database refuses connections, says so in sys/health, and recovers without a restart', async () => {
    const load = startLoad(server.url, server.rootToken, { workers: WORKERS, prefix: 'outage' });
    await eventually(() => load.figures.acknowledged.size >= 20, 'the load to get going');
    expect((await fetch(`${server.url}/v1/sys/health`)).status).toBe(200);

    await sab.allowConnections(false);
    await sab.terminateAll();
    const outageStarted = Date.now();
    // The load keeps going against a database that cannot be reached; health must report it.
    const health = await eventually(async () => {
      const res = await fetch(`${server.url}/v1/sys/health`);
      return res.status === 503 ? ((await res.json()) as Record<string, unknown>) : false;
    }, 'sys/health to report the outage');
    expect(health).toMatchObject({ initialized: true, sealed: false });
    expect(JSON.stringify(health)).toMatch(/storage/);
    // A liveness probe (the process is up, just not ready) can ask for 200 in this state.
    expect((await fetch(`${server.url}/v1/sys/health?unhealthycode=200`)).status).toBe(200);
    const during = await fetch(`${server.url}/v1/secret/data/during-outage`, {
      headers: { 'x-vault-token': server.rootToken },
    });
    expect(during.status).toBe(503);
    expect(((await during.json()) as { errors: string[] }).errors[0]).toMatch(/storage/);
    await sleep(Math.max(0, OUTAGE_MS - (Date.now() - outageStarted)));
    expectUp();

    await sab.allowConnections(true);
    const back = Date.now();
    await eventually(async () => (await fetch(`${server.url}/v1/sys/health`)).status === 200, 'sys/health to recover');
    const healthyMs = Date.now() - back;
    await eventually(async () => {
      const res = await fetch(`${server.url}/v1/secret/data/after-outage`, {
        method: 'PUT',
        headers: { 'x-vault-token': server.rootToken, 'content-type': 'application/json' },
        body: JSON.stringify({ data: { ok: 'yes' } }),
      });
      return res.status === 200;
    }, 'a write to succeed once the database answers');
    const writableMs = Date.now() - back;
    const figures = await load.stop();
    expectUp();
    console.log(
      `[fault postgres-outage] outageMs=${back - outageStarted} healthyAfterMs=${healthyMs} writableAfterMs=${writableMs} ${summary(figures)}`,
    );

    expect(figures.transportErrors, summary(figures)).toBe(0);
    expect(figures.violations).toEqual([]);
    expect(figures.byStatus[503] ?? 0, summary(figures)).toBeGreaterThan(0);
    const statuses = Object.keys(figures.byStatus).map(Number);
    expect(
      statuses.filter((s) => s !== 200 && s !== 204 && s !== 503),
      summary(figures),
    ).toEqual([]);
    expect(await unreadableWrites(server.url, server.rootToken, figures.acknowledged)).toEqual([]);
  });
});

/**
 * The same fault the hard way: the database server itself stops (`pg_ctl stop -m fast`, then `-m immediate`) and
 * starts again. Runs on a private PostgreSQL instance of its own (the machine's shared one is never stopped); skips
 * where Debian's PostgreSQL binaries or root are missing.
 */
describe.skipIf(!privatePostgresAvailable())(
  'fault: PostgreSQL stopped (fast and immediate) under load, on a private instance',
  () => {
    let pgServer: PrivatePostgres;
    let server: StartedServer;
    beforeAll(async () => {
      pgServer = startPrivatePostgres();
      server = await startServer({ args: [`--database-url=${pgServer.url}`] });
    });
    afterAll(async () => {
      await server?.stop();
      pgServer?.destroy();
    });

    it(`stays up through ${STOP_ROUNDS} stops of the database server, answers only 200 or 503, and serves again each time it is back`, async () => {
      const load = startLoad(server.url, server.rootToken, { workers: WORKERS, prefix: 'stopped' });
      await eventually(() => load.figures.acknowledged.size >= 20, 'the load to get going');
      const recoveries: number[] = [];
      for (let round = 0; round < STOP_ROUNDS; round++) {
        pgServer.stop(round % 2 === 0 ? 'fast' : 'immediate');
        await eventually(
          async () => (await fetch(`${server.url}/v1/sys/health`)).status === 503,
          'sys/health to report the stopped database',
        );
        await sleep(1_000);
        expect(server.proc.exitCode, server.stderr().slice(-3000)).toBeNull();
        pgServer.start();
        const back = Date.now();
        const acknowledgedBefore = load.figures.acknowledged.size;
        await eventually(() => load.figures.acknowledged.size > acknowledgedBefore, 'writes to succeed again');
        recoveries.push(Date.now() - back);
      }
      const figures = await load.stop();
      expect(server.proc.exitCode).toBeNull();
      console.log(
        `[fault postgres-stopped] rounds=${STOP_ROUNDS} recoveredMs=${JSON.stringify(recoveries)} ${summary(figures)}`,
      );

      expect(figures.transportErrors, summary(figures)).toBe(0);
      expect(figures.violations).toEqual([]);
      const statuses = Object.keys(figures.byStatus).map(Number);
      expect(
        statuses.filter((s) => s !== 200 && s !== 204 && s !== 503),
        summary(figures),
      ).toEqual([]);
      expect(await unreadableWrites(server.url, server.rootToken, figures.acknowledged)).toEqual([]);
    });
  },
);
