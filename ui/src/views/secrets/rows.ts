/** The key/value rows of the editor, and the rules a row must follow before anything is sent. */

export interface Row {
  /** Stable identity for React (keys change as people type). */
  id: number;
  key: string;
  value: string;
}

let nextId = 1;
export function newRow(key = '', value = ''): Row {
  return { id: nextId++, key, value };
}

/** Each row's problem (by row id): an empty key, or a key used twice. */
export function rowProblems(rows: Row[]): Map<number, string> {
  const problems = new Map<number, string>();
  const seen = new Map<string, number>();
  rows.forEach((row, i) => {
    if (row.key.trim() === '') {
      // A blank trailing row is a row not filled in yet, not a mistake — unless it carries a value.
      if (row.value !== '' || rows.length === 1) problems.set(row.id, 'Enter a key for this value.');
      return;
    }
    const first = seen.get(row.key);
    if (first !== undefined) problems.set(row.id, `“${row.key}” is already used in row ${first + 1}.`);
    else seen.set(row.key, i);
  });
  return problems;
}

/** The rows as a secret; blank rows (no key, no value) are skipped. */
export function rowsToData(rows: Row[]): Record<string, string> {
  const data: Record<string, string> = {};
  for (const row of rows) if (row.key.trim() !== '') data[row.key] = row.value;
  return data;
}

/** A secret as rows, or the keys whose values are not text (those can be edited only as JSON). */
export function dataToRows(data: Record<string, unknown>): { rows: Row[] } | { nonText: string[] } {
  const nonText = Object.entries(data)
    .filter(([, v]) => typeof v !== 'string')
    .map(([k]) => k);
  if (nonText.length > 0) return { nonText };
  const rows = Object.entries(data).map(([k, v]) => newRow(k, v as string));
  return { rows: rows.length > 0 ? rows : [newRow()] };
}
