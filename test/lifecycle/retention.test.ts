// The scheduled retention run and the user object's own sweep, on the injected clock.
import { createScheduledController, env, runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import worker from "../../src/index";
import { userStub } from "../../src/auth/user-object";
import { sweepExpired } from "../../src/auth/user-do/sweep";
import { DAY, MINUTE } from "../../src/lib/clock";
import { RETENTION_BATCH, retentionSettings, runRetention } from "../../src/lifecycle/retention";
import { makeAgent } from "../helpers/factories";

const NOW = Date.UTC(2027, 5, 1, 3, 17);

async function auditAt(at: number, marker: string) {
  await env.DB.prepare("INSERT INTO audit_events (at, event, details) VALUES (?, 'sign_out', ?)")
    .bind(at, JSON.stringify({ marker }))
    .run();
}
async function auditLeft(marker: string): Promise<number> {
  return (await env.DB.prepare("SELECT count(*) AS n FROM audit_events WHERE json_extract(details, '$.marker') = ?")
    .bind(marker)
    .first<{ n: number }>())!.n;
}
async function count(sql: string, ...params: unknown[]): Promise<number> {
  return (await env.DB.prepare(sql)
    .bind(...params)
    .first<{ n: number }>())!.n;
}

describe("the retention run", () => {
  it("deletes what is past its lifetime, keeps the rest, and a second run deletes nothing", async () => {
    const agent = await makeAgent();
    await auditAt(NOW - 366 * DAY, "old");
    await auditAt(NOW - 364 * DAY, "recent");
    const history =
      "INSERT INTO inventory_history (record_type, record_id, field, old_value, new_value, version_after, actor_id, at) VALUES ('asset', ?, 'impact', 'low', 'high', 2, NULL, ?)";
    await env.DB.prepare(history)
      .bind("ret_old", NOW - 731 * DAY)
      .run();
    await env.DB.prepare(history)
      .bind("ret_recent", NOW - 729 * DAY)
      .run();
    const bulk = "INSERT INTO bulk_operations (id, record_type, field, count, actor_id, at) VALUES (?, 'asset', 'impact', 1, ?, ?)";
    await env.DB.prepare(bulk)
      .bind("bulk_ret_old", agent.id, NOW - 11 * MINUTE)
      .run();
    await env.DB.prepare(bulk)
      .bind("bulk_ret_recent", agent.id, NOW - 9 * MINUTE)
      .run();
    const reset = "INSERT INTO password_resets (id, token_hash, user_id, portal, created_at, expires_at) VALUES (?, ?, ?, 'agent', ?, ?)";
    await env.DB.prepare(reset)
      .bind("pwr_old", "hash-old", agent.id, NOW - 31 * MINUTE, NOW - MINUTE)
      .run();
    await env.DB.prepare(reset)
      .bind("pwr_live", "hash-live", agent.id, NOW - MINUTE, NOW + 29 * MINUTE)
      .run();
    const pass =
      "INSERT INTO temporary_access_passes (id, user_id, pass_hash, issued_by, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?)";
    await env.DB.prepare(pass)
      .bind("tap_old", agent.id, "pass-old", agent.id, NOW - 61 * MINUTE, NOW - MINUTE)
      .run();
    await env.DB.prepare(pass)
      .bind("tap_live", agent.id, "pass-live", agent.id, NOW - MINUTE, NOW + 59 * MINUTE)
      .run();
    const mail = "INSERT INTO dev_mailbox (to_address, subject, body, sent, sent_at) VALUES (?, 'x', 'x', '{}', ?)";
    await env.DB.prepare(mail)
      .bind("old-mail@retention.test", NOW - 2 * DAY)
      .run();
    await env.DB.prepare(mail)
      .bind("new-mail@retention.test", NOW - 60 * MINUTE)
      .run();

    const first = await runRetention(env, NOW);
    expect(first.complete).toBe(true);
    expect([await auditLeft("old"), await auditLeft("recent")]).toEqual([0, 1]);
    expect(await count("SELECT count(*) AS n FROM inventory_history WHERE record_id IN ('ret_old', 'ret_recent')")).toBe(1);
    expect(await count("SELECT count(*) AS n FROM inventory_history WHERE record_id = 'ret_recent'")).toBe(1);
    expect(await count("SELECT count(*) AS n FROM bulk_operations WHERE id IN ('bulk_ret_old', 'bulk_ret_recent')")).toBe(1);
    expect(await count("SELECT count(*) AS n FROM password_resets WHERE id = 'pwr_live'")).toBe(1);
    expect(await count("SELECT count(*) AS n FROM password_resets WHERE id = 'pwr_old'")).toBe(0);
    expect(await count("SELECT count(*) AS n FROM temporary_access_passes WHERE id IN ('tap_old', 'tap_live')")).toBe(1);
    expect(await count("SELECT count(*) AS n FROM temporary_access_passes WHERE id = 'tap_live'")).toBe(1);
    expect(await count("SELECT count(*) AS n FROM dev_mailbox WHERE to_address LIKE '%@retention.test'")).toBe(1);

    const second = await runRetention(env, NOW);
    expect(second).toEqual({
      deleted: {
        auditEvents: 0,
        assetHistory: 0,
        undoRecords: 0,
        passwordResets: 0,
        accessPasses: 0,
        passkeyChallenges: 0,
        notMeLinks: 0,
        signInPauses: 0,
        ssoInvitations: 0,
        mailOutbox: 0,
        devMailbox: 0,
      },
      complete: true,
    });
  });

  it("works in bounded batches, a table at a time in turns: a backlog drains over several runs and holds no other table up", async () => {
    const rows = 2 * RETENTION_BATCH + 50;
    await env.DB.prepare(
      "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?) INSERT INTO audit_events (at, event, details) SELECT ?, 'sign_out', json_object('marker', 'backlog') FROM n",
    )
      .bind(rows, NOW - 400 * DAY)
      .run();
    await env.DB.prepare(
      "INSERT INTO passkey_challenges (id, portal, challenge, created_at, expires_at, used_at) VALUES ('behind-the-backlog', 'support', 'c', 0, ?, 0)",
    )
      .bind(NOW - DAY)
      .run();
    const tables = Object.keys((await runRetention(env, NOW, 0)).deleted).length;
    // One turn for every table, and one more batch: the backlog's second.
    const first = await runRetention(env, NOW, tables + 1);
    expect(first).toMatchObject({ complete: false, deleted: { auditEvents: 2 * RETENTION_BATCH, passkeyChallenges: 1 } });
    expect(await auditLeft("backlog")).toBe(50);
    const next = await runRetention(env, NOW, tables + 1);
    expect(next).toMatchObject({ complete: true, deleted: { auditEvents: 50 } });
    expect(await auditLeft("backlog")).toBe(0);
  });

  it("keeps audit events for the deployment's AUDIT_RETENTION_DAYS, and refuses a value out of range", async () => {
    await auditAt(NOW - 91 * DAY, "ninety");
    await runRetention({ ...env, AUDIT_RETENTION_DAYS: "120" }, NOW);
    expect(await auditLeft("ninety")).toBe(1);
    await runRetention({ ...env, AUDIT_RETENTION_DAYS: "90" }, NOW);
    expect(await auditLeft("ninety")).toBe(0);
    expect(retentionSettings({ ...env, AUDIT_RETENTION_DAYS: "", ASSET_HISTORY_RETENTION_DAYS: "" })).toEqual({
      auditDays: 365,
      assetHistoryDays: 730,
    });
    for (const bad of ["7", "a year", "36500", "365.5"]) {
      await expect(runRetention({ ...env, AUDIT_RETENTION_DAYS: bad }, NOW)).rejects.toThrow(
        `AUDIT_RETENTION_DAYS must be a whole number of days from 30 to 3650; it is "${bad}".`,
      );
    }
  });

  it("leaves the development mailbox alone outside development", async () => {
    await env.DB.prepare(
      "INSERT INTO dev_mailbox (to_address, subject, body, sent, sent_at) VALUES ('kept@retention.test', 'x', 'x', '{}', ?)",
    )
      .bind(NOW - 9 * DAY)
      .run();
    const report = await runRetention({ ...env, ENVIRONMENT: "production" }, NOW);
    expect(report.deleted).not.toHaveProperty("devMailbox");
    expect(await count("SELECT count(*) AS n FROM dev_mailbox WHERE to_address = 'kept@retention.test'")).toBe(1);
  });

  it("runs from the Worker's scheduled handler, at the schedule's time", async () => {
    await auditAt(NOW - 500 * DAY, "scheduled");
    await worker.scheduled(createScheduledController({ scheduledTime: NOW, cron: "17 * * * *" }), env);
    expect(await auditLeft("scheduled")).toBe(0);
  });
});

describe("the user object's sweep", () => {
  const session = (id: string, created: number, lastSeen: number, stage = "full", reauthenticated = created) => [
    id,
    `hash-${id}`,
    1,
    stage,
    "password",
    created,
    lastSeen,
    reauthenticated,
    "203.0.113.1",
    "test",
  ];
  const insertSession =
    "INSERT INTO sessions (id, token_hash, generation, stage, method, created_at, last_seen_at, reauthenticated_at, ip, user_agent) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)";

  it("deletes only what no policy could keep, and keeps an email challenge until its sign-in must have ended", async () => {
    const agent = await makeAgent();
    await runInDurableObject(userStub(env, agent.id), (_instance, state) => {
      const sql = state.storage.sql;
      sql.exec(insertSession, ...session("idle-31d", NOW - 40 * DAY, NOW - 31 * DAY));
      sql.exec(insertSession, ...session("idle-29d", NOW - 40 * DAY, NOW - 29 * DAY));
      sql.exec(insertSession, ...session("born-91d", NOW - 91 * DAY, NOW - MINUTE));
      sql.exec(insertSession, ...session("pending-16m", NOW - 16 * MINUTE, NOW - 16 * MINUTE, "second_factor"));
      sql.exec(insertSession, ...session("pending-14m", NOW - 14 * MINUTE, NOW - 14 * MINUTE, "second_factor"));
      sql.exec(
        "INSERT INTO devices (id, token_hash, generation, created_at, last_used_at, expires_at, ip, user_agent) VALUES ('dev-old', 'h1', 1, 0, 0, ?, '', ''), ('dev-live', 'h2', 1, 0, 0, ?, '', '')",
        NOW - 1,
        NOW + DAY,
      );
      sql.exec(
        "INSERT INTO webauthn_challenges (purpose, challenge, expires_at) VALUES ('old', 'c', ?), ('live', 'c', ?)",
        NOW - 1,
        NOW + MINUTE,
      );
      sql.exec(
        "INSERT INTO otp_challenge (id, flow_id, challenge_id, attempts, expires_at, sent_at) VALUES (1, 'f', 'c', 5, ?, ?)",
        NOW - 5 * MINUTE,
        NOW - 15 * MINUTE,
      );
      sql.exec("INSERT INTO otp_sends (challenge_id, sent_at) VALUES ('s-old', ?), ('s-live', ?)", NOW - 61 * MINUTE, NOW - 59 * MINUTE);

      expect(sweepExpired(sql, NOW)).toBe(6);
      const left = (table: string, column: string) =>
        sql
          .exec<Record<string, string>>(`SELECT ${column} AS v FROM ${table} ORDER BY 1`)
          .toArray()
          .map((r) => r.v);
      expect(left("sessions", "id")).toEqual(["idle-29d", "pending-14m"]);
      expect(left("devices", "id")).toEqual(["dev-live"]);
      expect(left("webauthn_challenges", "purpose")).toEqual(["live"]);
      // A burned challenge 5 minutes past its expiry still carries its failures (SECURITY.md 4).
      expect(left("otp_challenge", "challenge_id")).toEqual(["c"]);
      expect(left("otp_sends", "challenge_id")).toEqual(["s-live"]);
      // 11 minutes on: the challenge (its flow is over), the part-way session, the passkey challenge and the send.
      expect(sweepExpired(sql, NOW + 11 * MINUTE)).toBe(4);
      expect(left("otp_challenge", "challenge_id")).toEqual([]);
      expect(left("sessions", "id")).toEqual(["idle-29d"]);
    });
  });

  it("is scheduled by a new session, and its alarm deletes what has ended", async () => {
    const agent = await makeAgent();
    const stub = userStub(env, agent.id);
    await stub.createSession({
      id: "ses-live",
      tokenHash: "hash-live",
      generation: 1,
      stage: "full",
      method: "password",
      now: Date.now(),
      ip: "203.0.113.1",
      userAgent: "test",
    });
    await runInDurableObject(stub, (_instance, state) => {
      state.storage.sql.exec(insertSession, ...session("ses-ancient", Date.now() - 100 * DAY, Date.now() - 100 * DAY));
    });
    expect(await runDurableObjectAlarm(stub)).toBe(true);
    await runInDurableObject(stub, async (_instance, state) => {
      expect(
        state.storage.sql
          .exec<{ id: string }>("SELECT id FROM sessions")
          .toArray()
          .map((r) => r.id),
      ).toEqual(["ses-live"]);
      // Something with a lifetime is left, so the next sweep is already set.
      expect(await state.storage.getAlarm()).not.toBeNull();
    });
  });
});
