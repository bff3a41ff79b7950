// When an import's dry run happened is the server's word, not the form's. The apply refuses the
// whole file if a record changed after the dry run (import-apply.ts), so a dry-run time a client
// could set would let it skip that check by sending one from the future. The dry run's Apply form
// therefore carries its time with an HMAC (HMAC_KEY) over the time, the list, the person, the
// counts the page showed and the file: another time, another person's dry run, other counts or
// another file do not match, and the apply writes nothing.
import { sha256Hex } from "../lib/crypto";
import { hmacHex, hmacMatches } from "../lib/encryption";
import type { InventoryKind } from "./kinds";

/** What a dry run showed one person: when, the counts on its Apply button ("create:update"), and the file. */
export interface DryRun {
  actorId: string;
  checkedAt: number;
  expect: string;
  csv: string;
}

const MAC = /^[0-9a-f]{8}\.[0-9a-f]{64}$/;

async function dryRunMessage(kind: InventoryKind, run: DryRun): Promise<string> {
  // A browser sends a textarea's line breaks as CRLF whatever the file had, so the file is compared by its lines.
  const file = await sha256Hex(run.csv.replace(/\r\n?/g, "\n"));
  return ["edgedesk import dry run", kind.type, run.actorId, String(run.checkedAt), run.expect, file].join("\n");
}

/** The MAC the dry run's Apply form carries beside its time. */
export async function signDryRun(env: Env, kind: InventoryKind, run: DryRun): Promise<string> {
  return hmacHex(env, await dryRunMessage(kind, run));
}

/** Whether `mac` was written by a dry run of this file, for this person, at this time, showing these counts. */
export async function isOurDryRun(env: Env, kind: InventoryKind, run: DryRun, mac: string): Promise<boolean> {
  // Only MACs naming their key: hmacMatches also takes a bare one (from before key ids), which no dry run writes.
  if (!MAC.test(mac)) return false;
  return hmacMatches(env, await dryRunMessage(kind, run), mac);
}
