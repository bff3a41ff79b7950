// Copies the pinned htmx (package.json devDependencies) into web/vendor, where the Worker's
// static assets serve it from our own origin (the CSP allows scripts only from 'self').
import { copyFileSync, readdirSync, readFileSync, rmSync } from "node:fs";
const { version } = JSON.parse(readFileSync("node_modules/htmx.org/package.json", "utf8"));
for (const f of readdirSync("web/vendor")) if (f.startsWith("htmx-")) rmSync(`web/vendor/${f}`);
copyFileSync("node_modules/htmx.org/dist/htmx.min.js", `web/vendor/htmx-${version}.min.js`);
console.log(`web/vendor/htmx-${version}.min.js`);
