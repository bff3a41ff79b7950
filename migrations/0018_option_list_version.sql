CREATE TABLE `option_list_version` (
	`id` integer PRIMARY KEY NOT NULL,
	`token` text NOT NULL
);
--> statement-breakpoint
-- Written by hand below (drizzle-kit cannot model triggers). Issue 21.
-- The dropdowns of the asset and software lists offer locations, groups and active agents (by
-- group). Each isolate keeps them while this token stays the same; every change to what they
-- show replaces it, here in the database, so no code path can forget to. The token is random,
-- not a counter, so a database restored from Time Travel (or a test's fresh one) never repeats
-- a token an isolate already holds for other options.
INSERT INTO option_list_version (id, token) VALUES (1, lower(hex(randomblob(8))));
--> statement-breakpoint
CREATE TRIGGER locations_options_insert AFTER INSERT ON locations BEGIN
  UPDATE option_list_version SET token = lower(hex(randomblob(8)));
END;
--> statement-breakpoint
CREATE TRIGGER locations_options_delete AFTER DELETE ON locations BEGIN
  UPDATE option_list_version SET token = lower(hex(randomblob(8)));
END;
--> statement-breakpoint
CREATE TRIGGER locations_options_update AFTER UPDATE ON locations BEGIN
  UPDATE option_list_version SET token = lower(hex(randomblob(8)));
END;
--> statement-breakpoint
CREATE TRIGGER groups_options_insert AFTER INSERT ON groups BEGIN
  UPDATE option_list_version SET token = lower(hex(randomblob(8)));
END;
--> statement-breakpoint
CREATE TRIGGER groups_options_delete AFTER DELETE ON groups BEGIN
  UPDATE option_list_version SET token = lower(hex(randomblob(8)));
END;
--> statement-breakpoint
CREATE TRIGGER groups_options_update AFTER UPDATE ON groups BEGIN
  UPDATE option_list_version SET token = lower(hex(randomblob(8)));
END;
--> statement-breakpoint
CREATE TRIGGER group_members_options_insert AFTER INSERT ON group_members BEGIN
  UPDATE option_list_version SET token = lower(hex(randomblob(8)));
END;
--> statement-breakpoint
CREATE TRIGGER group_members_options_delete AFTER DELETE ON group_members BEGIN
  UPDATE option_list_version SET token = lower(hex(randomblob(8)));
END;
--> statement-breakpoint
CREATE TRIGGER group_members_options_update AFTER UPDATE ON group_members BEGIN
  UPDATE option_list_version SET token = lower(hex(randomblob(8)));
END;
--> statement-breakpoint
CREATE TRIGGER users_options_insert AFTER INSERT ON users BEGIN
  UPDATE option_list_version SET token = lower(hex(randomblob(8)));
END;
--> statement-breakpoint
CREATE TRIGGER users_options_delete AFTER DELETE ON users BEGIN
  UPDATE option_list_version SET token = lower(hex(randomblob(8)));
END;
--> statement-breakpoint
CREATE TRIGGER users_options_update AFTER UPDATE OF name, active, kind ON users BEGIN
  UPDATE option_list_version SET token = lower(hex(randomblob(8)));
END;
