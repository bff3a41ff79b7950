// CSV export of a list: everything the filter matches, in the list's order, with the
// columns the person chose. Read page by page by keyset, so 100,000 rows stream out without being
// held in memory; each page is a fresh read, so an export taken while others edit is not a
// snapshot (docs/ASSETS.md says so).
import Papa from "papaparse";
import { NAME_COLUMN, type ListColumn } from "./columns";
import type { InventoryKind } from "./kinds";
import { cursorOf, type ListFilter, pageQuery, type Row } from "./listing";

/** Rows read per D1 query while exporting. */
export const EXPORT_PAGE = 500;

/**
 * A cell a spreadsheet could read as a formula: one starting with = + - @ tab or CR, whatever
 * follows. Papa Parse's own `escapeFormulae: true` is `^[=+\-@\t\r].*$`, whose `.` stops at a
 * line break, so a multi-line cell `=HYPERLINK(…)\nmore` went out as a live formula.
 */
const FORMULA_START = /^[=+\-@\t\r]/;

/** Cells as text; each that starts like a formula is prefixed with ' (SECURITY.md: CSV injection). */
export function csvLines(rows: string[][]): string {
  return `${Papa.unparse(rows, { escapeFormulae: FORMULA_START, newline: "\r\n" })}\r\n`;
}

/**
 * The export as a stream of UTF-8 CSV (with a byte-order mark, for spreadsheets), and a call to
 * `done` with the number of rows once the last page is sent or the download is cancelled.
 */
export function exportStream(
  db: D1Database,
  kind: InventoryKind,
  filter: ListFilter,
  chosen: readonly ListColumn[],
  done: (rows: number, complete: boolean) => Promise<void>,
): ReadableStream<Uint8Array> {
  const columns = [NAME_COLUMN, ...chosen];
  const encoder = new TextEncoder();
  let cursor: ListFilter["cursor"];
  let sent = 0;
  let started = false;
  let finished = false;
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      if (!started) {
        started = true;
        controller.enqueue(encoder.encode(`\uFEFF${csvLines([columns.map((c) => c.label)])}`));
        return;
      }
      const query = pageQuery(kind, { ...filter, cursor }, EXPORT_PAGE);
      const rows = (
        await db
          .prepare(query.sql)
          .bind(...query.params)
          .all<Row>()
      ).results;
      if (rows.length > 0) {
        controller.enqueue(encoder.encode(csvLines(rows.map((row) => columns.map((c) => c.text(row))))));
        sent += rows.length;
        cursor = cursorOf(kind, filter, rows.at(-1)!, "after");
      }
      if (rows.length < EXPORT_PAGE) {
        finished = true;
        await done(sent, true);
        controller.close();
      }
    },
    async cancel() {
      if (!finished) await done(sent, false);
    },
  });
}
