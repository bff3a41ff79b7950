CREATE TABLE `passkey_challenges` (
	`id` text PRIMARY KEY NOT NULL,
	`portal` text NOT NULL,
	`challenge` text NOT NULL,
	`created_at` integer NOT NULL,
	`expires_at` integer NOT NULL,
	`used_at` integer
);
--> statement-breakpoint
ALTER TABLE `passkeys` ADD `discoverable` integer;