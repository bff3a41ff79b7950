// A SIEM's receiving end, run by vitest in Node (vitest.config.ts globalSetup) on a real port:
// the workerd tests post audit events to it over HTTP, as production posts to Splunk or to a
// customer's endpoint. It checks each request exactly as docs/AUDIT-STREAMING.md tells a customer
// to (the signature function below is the one the docs print), and remembers the event ids it
// accepted, in order. Each test uses its own receiver name, and sets how it misbehaves.
import { createHmac, timingSafeEqual } from "node:crypto";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { TestProject } from "vitest/node";

// docs:verify-start
/** True when an EdgeDesk delivery is genuine and fresh: check it before reading the body. */
function verifyEdgeDeskSignature(secret: string, timestamp: string, signature: string, rawBody: string, nowSeconds: number): boolean {
  // Refuse a replay of an old delivery: five minutes either way allows for clock drift.
  if (!/^\d+$/.test(timestamp) || Math.abs(nowSeconds - Number(timestamp)) > 300) return false;
  const expected = `v1=${createHmac("sha256", secret).update(`${timestamp}.${rawBody}`).digest("hex")}`;
  const given = Buffer.from(signature);
  return given.length === Buffer.byteLength(expected) && timingSafeEqual(given, Buffer.from(expected));
}
// docs:verify-end

interface Receiver {
  kind: "https" | "splunk";
  secret: string;
  /** How it misbehaves: answers 500 always, every other request (the first of each pair), never answers, or redirects elsewhere. */
  fail: "none" | "always" | "every-other" | "hang" | "redirect";
  /** The test's clock, in seconds, for the signature's freshness check (the tests' clocks are not the wall's). */
  now: number | null;
  requests: number;
  received: number[];
  rejected: string[];
}

const receivers = new Map<string, Receiver>();

function body(request: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    request.on("data", (chunk: Buffer) => chunks.push(chunk));
    request.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    request.on("error", reject);
  });
}

function answer(response: ServerResponse, status: number, value: unknown) {
  response.writeHead(status, { "Content-Type": "application/json" });
  response.end(JSON.stringify(value));
}

async function handle(request: IncomingMessage, response: ServerResponse) {
  const url = new URL(request.url ?? "/", "http://receiver");
  const [, area, name] = url.pathname.split("/");
  const raw = await body(request);
  if (area === "control" && name) {
    if (request.method === "POST") {
      const given = JSON.parse(raw) as Partial<Receiver>;
      const before = receivers.get(name);
      receivers.set(name, {
        kind: "https",
        secret: "",
        fail: "none",
        now: null,
        requests: 0,
        received: [],
        rejected: [],
        ...before,
        ...given,
      });
    }
    const state = receivers.get(name);
    return state ? answer(response, 200, state) : answer(response, 404, { error: "no such receiver" });
  }
  const receiver = area === "r" && name ? receivers.get(name) : undefined;
  if (!receiver || request.method !== "POST") return answer(response, 404, { error: "no such receiver" });
  receiver.requests += 1;
  if (receiver.fail === "hang") return; // Never answered: the sender's timeout ends it.
  if (receiver.fail === "redirect") {
    response.writeHead(307, { Location: `http://127.0.0.1:9/elsewhere/${name}` });
    return response.end();
  }
  if (receiver.fail === "always" || (receiver.fail === "every-other" && receiver.requests % 2 === 1))
    return answer(response, 500, { text: "Internal server error (the test receiver's failure)" });
  let events: { id: number }[];
  if (receiver.kind === "splunk") {
    // Splunk HEC: `Authorization: Splunk <token>`, answered as Splunk answers a wrong token; the
    // body is JSON objects one after another.
    if (request.headers.authorization !== `Splunk ${receiver.secret}`) {
      receiver.rejected.push("wrong HEC token");
      return answer(response, 403, { text: "Invalid token", code: 4 });
    }
    events = raw
      .split("\n")
      .filter(Boolean)
      .map((line) => (JSON.parse(line) as { event: { id: number } }).event);
  } else {
    const timestamp = String(request.headers["x-edgedesk-timestamp"] ?? "");
    const signature = String(request.headers["x-edgedesk-signature"] ?? "");
    const now = receiver.now ?? Math.floor(Date.now() / 1000);
    if (!verifyEdgeDeskSignature(receiver.secret, timestamp, signature, raw, now)) {
      receiver.rejected.push("bad signature");
      return answer(response, 401, { error: "bad signature" });
    }
    events = (JSON.parse(raw) as { events: { id: number }[] }).events;
  }
  receiver.received.push(...events.map((e) => e.id));
  return receiver.kind === "splunk" ? answer(response, 200, { text: "Success", code: 0 }) : answer(response, 200, { ok: true });
}

export default async function startReceiver(project: TestProject) {
  const server = createServer((request, response) => {
    handle(request, response).catch((error) => answer(response, 400, { error: String(error) }));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  if (!address || typeof address === "string") throw new Error("The test SIEM receiver did not get a port.");
  project.provide("siemReceiver", `http://127.0.0.1:${address.port}`);
  return () =>
    new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
}

declare module "vitest" {
  export interface ProvidedContext {
    siemReceiver: string;
  }
}
