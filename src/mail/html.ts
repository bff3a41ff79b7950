// The HTML part of every mail, made from its plain text so the two never say different things.
// Simple and accessible: a language, a title, real paragraphs, no images (so nothing remote to load),
// no scripts, colours with enough contrast, and links written out as their own text.

import { escapeHtml } from "../lib/html-escape";

const LINK = /https?:\/\/[^\s<>"']+/g;

/** One line of text, escaped, with each http(s):// address made a link that reads as the address. */
function inline(line: string): string {
  let out = "";
  let last = 0;
  for (const match of line.matchAll(LINK)) {
    const url = match[0].replace(/[.,;:)]+$/, "");
    out += `${escapeHtml(line.slice(last, match.index))}<a href="${escapeHtml(url)}">${escapeHtml(url)}</a>`;
    last = match.index + url.length;
  }
  return out + escapeHtml(line.slice(last));
}

/**
 * Paragraphs are separated by a blank line; a paragraph indented by four spaces is something to
 * type or copy (a code), shown large and spaced in a monospace face.
 */
export function htmlOf(subject: string, text: string): string {
  const paragraphs = text
    .replace(/\r\n?/g, "\n")
    .split(/\n{2,}/)
    .map((p) => p.replace(/\n+$/, ""))
    .filter((p) => p.trim() !== "");
  const body = paragraphs
    .map((p) =>
      /^ {4}\S/.test(p)
        ? `<p style="font-family:ui-monospace,Menlo,Consolas,monospace;font-size:24px;font-weight:bold;letter-spacing:4px;margin:16px 0">${escapeHtml(p.trim())}</p>`
        : `<p style="margin:0 0 12px">${p.split("\n").map(inline).join("<br>")}</p>`,
    )
    .join("\n");
  return (
    `<!doctype html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n<meta name="viewport" content="width=device-width, initial-scale=1">\n` +
    `<title>${escapeHtml(subject)}</title>\n</head>\n` +
    `<body style="margin:0;padding:24px;background:#ffffff;color:#1f2933;font-family:-apple-system,'Segoe UI',Roboto,Arial,sans-serif;font-size:16px;line-height:1.5">\n` +
    `<main style="max-width:560px">\n${body}\n</main>\n</body>\n</html>\n`
  );
}
