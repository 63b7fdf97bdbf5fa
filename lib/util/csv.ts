/**
 * One line of CSV (RFC 4180) written and read: fields holding a comma, a
 * quote or a line break are quoted, and a quote inside one is doubled.
 * `rocks predict --csv` writes with it; `groups.csv` is read with it.
 * @module
 */

/**
 * One field of a CSV line, quoted when it must be.
 * @param value The field's text.
 * @returns The text as it goes between commas.
 * @example
 * ```ts
 * import { csvCell } from "./csv.ts";
 * if (csvCell('say "hi", twice') !== '"say ""hi"", twice"') throw new Error("quoted");
 * ```
 */
export function csvCell(value: string): string {
  return /[",\n\r]/.test(value) ? `"${value.replaceAll('"', '""')}"` : value;
}

/**
 * Splits one CSV line into its fields, undoing {@linkcode csvCell}: quoted
 * fields may hold commas and doubled quotes; space around a field is
 * trimmed, as a hand-written file often has it.
 * @param line One line, without its line break.
 * @returns The fields, or `undefined` when a quoted field is never closed.
 * @example
 * ```ts
 * import { csvCell, parseCsvLine } from "./csv.ts";
 * const fields = ['Basalt/a "b", c.jpg', "s69-1"];
 * if (parseCsvLine(fields.map(csvCell).join(","))?.join("|") !== fields.join("|")) throw new Error("round trip");
 * ```
 */
export function parseCsvLine(line: string): string[] | undefined {
  const fields: string[] = [];
  let at = 0;
  for (;;) {
    while (line[at] === " " || line[at] === "\t") at++;
    let field = "";
    if (line[at] === '"') {
      at++;
      for (;;) {
        const quote = line.indexOf('"', at);
        if (quote < 0) return undefined;
        field += line.slice(at, quote);
        at = quote + 1;
        if (line[at] !== '"') break;
        field += '"';
        at++;
      }
      const comma = line.indexOf(",", at);
      at = comma < 0 ? line.length : comma;
    } else {
      const comma = line.indexOf(",", at);
      const end = comma < 0 ? line.length : comma;
      field = line.slice(at, end).trim();
      at = end;
    }
    fields.push(field);
    if (at >= line.length) return fields;
    at++; // the comma
  }
}
