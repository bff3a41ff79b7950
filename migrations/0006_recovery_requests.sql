CREATE TABLE `recovery_code_requests` (
	`id` text PRIMARY KEY NOT NULL,
	`user_id` text NOT NULL,
	`status` text NOT NULL,
	`created_at` integer NOT NULL,
	`resolved_by` text,
	`resolved_at` integer,
	FOREIGN KEY (`user_id`) REFERENCES `users`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE INDEX `recovery_code_requests_status_idx` ON `recovery_code_requests` (`status`,`created_at`);--> statement-breakpoint
CREATE INDEX `recovery_code_requests_user_idx` ON `recovery_code_requests` (`user_id`,`status`);