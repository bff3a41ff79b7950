// The Worker's own CPU time while something runs, read from workerd's inspector (the V8 sampling
// profiler that wrangler dev exposes): every sample that is not idle. That is what [limits] cpu_ms
// caps; waiting on D1, KV or the network is not counted, locally or in production. The profiler
// adds its own overhead, so the figure errs high. The app's Durable Objects share the isolate
// locally, so their CPU counts too (in production they would run elsewhere).
import WebSocket from "ws";

export async function cpuWhile(inspectorPort, run) {
  const targets = await (await fetch(`http://127.0.0.1:${inspectorPort}/json`)).json();
  if (targets.length !== 1) throw new Error(`expected one Worker to profile, found ${targets.length}`);
  const socket = new WebSocket(targets[0].webSocketDebuggerUrl);
  await new Promise((resolve, reject) => socket.once("open", resolve).once("error", reject));
  let lastId = 0;
  const waiting = new Map();
  socket.on("message", (message) => {
    const reply = JSON.parse(message);
    waiting.get(reply.id)?.(reply);
    waiting.delete(reply.id);
  });
  const send = (method, params = {}) =>
    new Promise((resolve, reject) => {
      const id = ++lastId;
      waiting.set(id, (reply) => (reply.error ? reject(new Error(`${method}: ${reply.error.message}`)) : resolve(reply.result)));
      socket.send(JSON.stringify({ id, method, params }));
    });
  try {
    await send("Profiler.enable");
    await send("Profiler.setSamplingInterval", { interval: 1000 });
    await send("Profiler.start");
    const result = await run();
    const { profile } = await send("Profiler.stop");
    const idle = new Set(profile.nodes.filter((node) => node.callFrame.functionName === "(idle)").map((node) => node.id));
    const busyMicros = profile.samples.reduce((sum, sample, i) => sum + (idle.has(sample) ? 0 : (profile.timeDeltas[i] ?? 0)), 0);
    const wallMs = (profile.endTime - profile.startTime) / 1000;
    return { result, cpuMs: busyMicros / 1000, wallMs };
  } finally {
    socket.close();
  }
}
