CREATE TABLE `sso_invitations` (
	`id` text PRIMARY KEY NOT NULL,
	`token_hash` text NOT NULL,
	`user_id` text NOT NULL,
	`created_by` text NOT NULL,
	`created_at` integer NOT NULL,
	`expires_at` integer NOT NULL,
	`used_at` integer,
	`consumed_by` text,
	FOREIGN KEY (`user_id`) REFERENCES `users`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE UNIQUE INDEX `sso_invitations_token_hash_unique` ON `sso_invitations` (`token_hash`);--> statement-breakpoint
CREATE INDEX `sso_invitations_user_idx` ON `sso_invitations` (`user_id`);