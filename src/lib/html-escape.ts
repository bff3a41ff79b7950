// Text into HTML, for the few places that write markup as strings rather than through hono/jsx
// (mail's HTML part, the list rows' prebuilt dropdowns, the bench's floor route): the same five
// characters hono/jsx escapes.
const ESCAPES: Record<string, string> = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" };

const SPECIAL = /[&<>"']/;

export function escapeHtml(text: string): string {
  // Most text has nothing to escape: a test is cheaper than a replace (a list page escapes thousands).
  return SPECIAL.test(text) ? text.replace(/[&<>"']/g, (ch) => ESCAPES[ch]!) : text;
}
