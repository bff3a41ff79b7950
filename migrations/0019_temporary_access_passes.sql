CREATE TABLE `temporary_access_passes` (
	`id` text PRIMARY KEY NOT NULL,
	`user_id` text NOT NULL,
	`pass_hash` text NOT NULL,
	`issued_by` text NOT NULL,
	`created_at` integer NOT NULL,
	`expires_at` integer NOT NULL,
	`used_at` integer,
	FOREIGN KEY (`user_id`) REFERENCES `users`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE UNIQUE INDEX `temporary_access_passes_pass_hash_unique` ON `temporary_access_passes` (`pass_hash`);--> statement-breakpoint
CREATE INDEX `temporary_access_passes_user_idx` ON `temporary_access_passes` (`user_id`);