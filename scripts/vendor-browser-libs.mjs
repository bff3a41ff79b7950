// Copies the pinned browser libraries (package.json devDependencies) into web/vendor, where the
// Worker's static assets serve them from our own origin (the CSP allows scripts only from 'self').
// The file name carries the version; src/web/layout.tsx names the same files.
import { copyFileSync, readdirSync, readFileSync, rmSync } from "node:fs";

const LIBRARIES = [
  { pkg: "htmx.org", from: "dist/htmx.min.js", name: "htmx", suffix: ".min.js" },
  { pkg: "@simplewebauthn/browser", from: "dist/bundle/index.umd.min.js", name: "simplewebauthn-browser", suffix: ".umd.min.js" },
];

for (const { pkg, from, name, suffix } of LIBRARIES) {
  const { version } = JSON.parse(readFileSync(`node_modules/${pkg}/package.json`, "utf8"));
  // An older copy goes, so only the pinned version is served.
  for (const f of readdirSync("web/vendor")) if (f.startsWith(`${name}-`)) rmSync(`web/vendor/${f}`);
  copyFileSync(`node_modules/${pkg}/${from}`, `web/vendor/${name}-${version}${suffix}`);
  console.log(`web/vendor/${name}-${version}${suffix}`);
}
