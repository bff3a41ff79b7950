// Copies the pinned @simplewebauthn/browser (package.json devDependencies) into web/vendor, where
// the Worker's static assets serve it from our own origin (the CSP allows scripts only from 'self').
import { copyFileSync, readdirSync, readFileSync, rmSync } from "node:fs";
const { version } = JSON.parse(readFileSync("node_modules/@simplewebauthn/browser/package.json", "utf8"));
for (const f of readdirSync("web/vendor")) if (f.startsWith("simplewebauthn-browser-")) rmSync(`web/vendor/${f}`);
copyFileSync("node_modules/@simplewebauthn/browser/dist/bundle/index.umd.min.js", `web/vendor/simplewebauthn-browser-${version}.umd.min.js`);
console.log(`web/vendor/simplewebauthn-browser-${version}.umd.min.js`);
