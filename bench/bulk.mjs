// Bulk "All matching" as a person meets it: one request that answers with the result (up to
// 2,000 records), or a 303 to a job's progress page (src/assets/bulk-job.ts), read every second as the page itself does,
// until the job has ended. The job's page carries its longest step (data-longest-step-ms).
export async function bulkAllMatching(url, cookie, form) {
  const headers = { Cookie: cookie };
  const t0 = performance.now();
  const first = await fetch(`${url}/agent/assets/bulk/apply`, {
    method: "POST",
    redirect: "manual",
    headers: { ...headers, "Content-Type": "application/x-www-form-urlencoded", Origin: url },
    body: new URLSearchParams({ scope: "all", ...form }),
  });
  let body = await first.text();
  let status = first.status;
  const job = status === 303;
  let polls = 0;
  if (job) {
    const location = first.headers.get("Location");
    for (;;) {
      const page = await fetch(url + location, { headers });
      body = await page.text();
      status = page.status;
      polls++;
      if (status !== 200 || !body.includes('hx-trigger="every 1s"')) break;
      await new Promise((resolve) => setTimeout(resolve, 1000));
    }
  }
  const ms = performance.now() - t0;
  const done = /Changed ([\d,]+) of ([\d,]+)/.exec(body);
  const number = (s) => Number(s.replaceAll(",", ""));
  const left = /([\d,]+) (?:was|were) left as (?:it|they) w(?:as|ere)/.exec(body);
  const longest = /data-longest-step-ms="(\d+)"/.exec(body);
  return {
    status,
    ms,
    job,
    polls,
    changed: done ? number(done[1]) : null,
    left: left ? number(left[1]) : 0,
    matched: done ? number(done[2]) : null,
    longestStepMs: longest ? Number(longest[1]) : null,
    body,
  };
}
