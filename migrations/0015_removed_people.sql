CREATE TABLE `removed_people` (
	`id` text PRIMARY KEY NOT NULL,
	`kind` text NOT NULL,
	`pseudonym` text NOT NULL,
	`removed_at` integer NOT NULL,
	`removed_by` text NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `removed_people_pseudonym_unique` ON `removed_people` (`pseudonym`);