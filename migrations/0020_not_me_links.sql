CREATE TABLE `not_me_links` (
	`id` text PRIMARY KEY NOT NULL,
	`token_hash` text NOT NULL,
	`user_id` text NOT NULL,
	`portal` text NOT NULL,
	`device_hash` text NOT NULL,
	`ip` text NOT NULL,
	`user_agent` text NOT NULL,
	`created_at` integer NOT NULL,
	`expires_at` integer NOT NULL,
	`used_at` integer,
	FOREIGN KEY (`user_id`) REFERENCES `users`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE UNIQUE INDEX `not_me_links_token_hash_unique` ON `not_me_links` (`token_hash`);--> statement-breakpoint
CREATE INDEX `not_me_links_user_idx` ON `not_me_links` (`user_id`);