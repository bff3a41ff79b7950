/**
 * Debian's Chromium (`apt-get install chromium`); never a downloaded browser. The binary itself,
 * not Debian's `/usr/bin/chromium` launcher script: the launcher adds desktop flags (GPU
 * rasterization through the software GPU, extension loading) that cost a headless run about a
 * tenth of the browser's CPU and change nothing a page check reads.
 */
export const chromiumPath = () => process.env.CHROMIUM_PATH ?? "/usr/lib/chromium/chromium";

export const CHROMIUM_ARGS = [
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];
