CREATE TABLE `bulk_operations` (
	`id` text PRIMARY KEY NOT NULL,
	`record_type` text NOT NULL,
	`field` text NOT NULL,
	`count` integer NOT NULL,
	`actor_id` text NOT NULL,
	`at` integer NOT NULL,
	`undone_at` integer,
	`undo_token` text
);
--> statement-breakpoint
CREATE TABLE `inventory_history` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`record_type` text NOT NULL,
	`record_id` text NOT NULL,
	`field` text NOT NULL,
	`old_value` text,
	`new_value` text,
	`version_after` integer NOT NULL,
	`actor_id` text,
	`batch_id` text,
	`at` integer NOT NULL
);
--> statement-breakpoint
CREATE INDEX `inventory_history_record_idx` ON `inventory_history` (`record_type`,`record_id`,`id`);--> statement-breakpoint
CREATE INDEX `inventory_history_batch_idx` ON `inventory_history` (`batch_id`);