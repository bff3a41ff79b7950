import type { Context } from "hono";

/**
 * Work that must not delay (or, by its timing, give away anything in) the response: handed to
 * `waitUntil`. Without an ExecutionContext (a caller of `app.request` that passes none) it is
 * awaited instead. A failure is logged, never turned into an error page.
 */
export async function afterResponse(c: Context, label: string, task: () => Promise<unknown>): Promise<void> {
  const run = () => task().catch((error) => console.error(`${label} failed:`, error));
  let ctx: { waitUntil(promise: Promise<unknown>): void } | undefined;
  try {
    ctx = c.executionCtx;
  } catch {
    ctx = undefined;
  }
  // Started once the response is on its way (the next turn of the event loop), not alongside it.
  if (ctx) ctx.waitUntil(new Promise((resolve) => setTimeout(resolve, 0)).then(run));
  else await run();
}
