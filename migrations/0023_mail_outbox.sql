CREATE TABLE `mail_outbox` (
	`id` text PRIMARY KEY NOT NULL,
	`to_address` text NOT NULL,
	`subject` text NOT NULL,
	`sealed_text` text NOT NULL,
	`user_id` text,
	`created_at` integer NOT NULL,
	`due_at` integer NOT NULL,
	`attempts` integer DEFAULT 0 NOT NULL,
	`last_error` text,
	`sent_at` integer,
	`message_id` text,
	`gave_up_at` integer,
	FOREIGN KEY (`user_id`) REFERENCES `users`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE INDEX `mail_outbox_due_idx` ON `mail_outbox` (`due_at`) WHERE sent_at IS NULL AND gave_up_at IS NULL;--> statement-breakpoint
CREATE TABLE `reset_requests` (
	`id` text PRIMARY KEY NOT NULL,
	`portal` text NOT NULL,
	`email` text NOT NULL,
	`site_origin` text NOT NULL,
	`requested_at` integer NOT NULL,
	`ip` text,
	`user_agent` text,
	`due_at` integer NOT NULL,
	`tries` integer DEFAULT 0 NOT NULL
);
--> statement-breakpoint
CREATE INDEX `reset_requests_due_idx` ON `reset_requests` (`due_at`);--> statement-breakpoint
ALTER TABLE `dev_mailbox` ADD `message_id` text;