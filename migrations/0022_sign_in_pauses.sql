CREATE TABLE `sign_in_pauses` (
	`user_id` text NOT NULL,
	`way` text NOT NULL,
	`portal` text NOT NULL,
	`paused_at` integer NOT NULL,
	`until` integer NOT NULL,
	`attempts` integer NOT NULL,
	`sources` text NOT NULL,
	PRIMARY KEY(`user_id`, `way`),
	FOREIGN KEY (`user_id`) REFERENCES `users`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE INDEX `sign_in_pauses_until_idx` ON `sign_in_pauses` (`until`);