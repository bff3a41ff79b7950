CREATE TABLE `api_token_sources` (
	`token_id` text NOT NULL,
	`ip` text NOT NULL,
	`first_at` integer NOT NULL,
	PRIMARY KEY(`token_id`, `ip`),
	FOREIGN KEY (`token_id`) REFERENCES `api_tokens`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE TABLE `api_tokens` (
	`id` text PRIMARY KEY NOT NULL,
	`name` text NOT NULL,
	`scopes` text NOT NULL,
	`secret_hash` text NOT NULL,
	`created_by` text NOT NULL,
	`created_at` integer NOT NULL,
	`expires_at` integer NOT NULL,
	`revoked_at` integer,
	`revoked_by` text,
	`last_used_at` integer,
	`last_used_ip` text
);
--> statement-breakpoint
CREATE INDEX `api_tokens_created_idx` ON `api_tokens` (`created_at`);--> statement-breakpoint
CREATE TABLE `audit_destinations` (
	`id` text PRIMARY KEY NOT NULL,
	`name` text NOT NULL,
	`kind` text NOT NULL,
	`url` text NOT NULL,
	`sealed_secret` text NOT NULL,
	`created_by` text NOT NULL,
	`created_at` integer NOT NULL,
	`cursor` integer NOT NULL,
	`paused_at` integer,
	`paused_reason` text,
	`last_delivered_at` integer,
	`failing_since` integer,
	`attempts` integer DEFAULT 0 NOT NULL,
	`next_attempt_at` integer DEFAULT 0 NOT NULL,
	`last_error` text
);
