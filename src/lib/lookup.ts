/**
 * `record[key]` when `key` is the record's own property, else undefined. A key that comes from
 * the request is looked up with this, never with `in` or a bare index, which accept inherited
 * names such as "constructor", "__proto__" and "toString".
 */
export function ownValue<V>(record: Readonly<Record<string, V>>, key: string | undefined | null): V | undefined {
  return key != null && Object.hasOwn(record, key) ? record[key] : undefined;
}
