-- Written by hand (drizzle-kit cannot model virtual tables or triggers). Issue 21.
--
-- Search: an FTS5 index with the trigram tokenizer over the searched columns of each list,
--    external content (the rows stay in assets / software; the index holds only trigrams), kept
--    in step by triggers on insert, delete and an update of a searched column. Trigram matching
--    finds any substring of 3 or more characters, case-insensitively, as LIKE '%x%' did, without
--    reading every row. Terms shorter than 3 characters still use LIKE (src/assets/listing.ts).
--    Note: `wrangler d1 export` refuses databases with virtual tables (README, Operations).
--    Note: D1's meta.changes counts the rows these triggers write; code asks changedAny()
--    (src/db/index.ts), never "exactly 1".
CREATE VIRTUAL TABLE assets_fts USING fts5(name, asset_tag, serial_number, content='assets', content_rowid='rowid', tokenize='trigram');
--> statement-breakpoint
INSERT INTO assets_fts(rowid, name, asset_tag, serial_number) SELECT rowid, name, asset_tag, serial_number FROM assets;
--> statement-breakpoint
CREATE TRIGGER assets_fts_insert AFTER INSERT ON assets BEGIN
  INSERT INTO assets_fts(rowid, name, asset_tag, serial_number) VALUES (new.rowid, new.name, new.asset_tag, new.serial_number);
END;
--> statement-breakpoint
CREATE TRIGGER assets_fts_delete AFTER DELETE ON assets BEGIN
  INSERT INTO assets_fts(assets_fts, rowid, name, asset_tag, serial_number) VALUES ('delete', old.rowid, old.name, old.asset_tag, old.serial_number);
END;
--> statement-breakpoint
CREATE TRIGGER assets_fts_update AFTER UPDATE OF name, asset_tag, serial_number ON assets BEGIN
  INSERT INTO assets_fts(assets_fts, rowid, name, asset_tag, serial_number) VALUES ('delete', old.rowid, old.name, old.asset_tag, old.serial_number);
  INSERT INTO assets_fts(rowid, name, asset_tag, serial_number) VALUES (new.rowid, new.name, new.asset_tag, new.serial_number);
END;
--> statement-breakpoint
CREATE VIRTUAL TABLE software_fts USING fts5(name, publisher, category, content='software', content_rowid='rowid', tokenize='trigram');
--> statement-breakpoint
INSERT INTO software_fts(rowid, name, publisher, category) SELECT rowid, name, publisher, category FROM software;
--> statement-breakpoint
CREATE TRIGGER software_fts_insert AFTER INSERT ON software BEGIN
  INSERT INTO software_fts(rowid, name, publisher, category) VALUES (new.rowid, new.name, new.publisher, new.category);
END;
--> statement-breakpoint
CREATE TRIGGER software_fts_delete AFTER DELETE ON software BEGIN
  INSERT INTO software_fts(software_fts, rowid, name, publisher, category) VALUES ('delete', old.rowid, old.name, old.publisher, old.category);
END;
--> statement-breakpoint
CREATE TRIGGER software_fts_update AFTER UPDATE OF name, publisher, category ON software BEGIN
  INSERT INTO software_fts(software_fts, rowid, name, publisher, category) VALUES ('delete', old.rowid, old.name, old.publisher, old.category);
  INSERT INTO software_fts(rowid, name, publisher, category) VALUES (new.rowid, new.name, new.publisher, new.category);
END;
