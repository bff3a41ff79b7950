CREATE TABLE `bulk_chunks` (
	`batch_id` text NOT NULL,
	`seq` integer NOT NULL,
	`items` text NOT NULL,
	PRIMARY KEY(`batch_id`, `seq`),
	FOREIGN KEY (`batch_id`) REFERENCES `bulk_operations`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
ALTER TABLE `bulk_operations` ADD `state` text DEFAULT 'done' NOT NULL;--> statement-breakpoint
ALTER TABLE `bulk_operations` ADD `job` text;--> statement-breakpoint
ALTER TABLE `bulk_operations` ADD `chunks` integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE `bulk_operations` ADD `cursor` text;--> statement-breakpoint
ALTER TABLE `bulk_operations` ADD `applied_chunks` integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE `bulk_operations` ADD `chunk_token` text;--> statement-breakpoint
ALTER TABLE `bulk_operations` ADD `done_count` integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE `bulk_operations` ADD `longest_ms` integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE `bulk_operations` ADD `message` text;