ALTER TABLE `bulk_operations` ADD `selected_ids` text;--> statement-breakpoint
ALTER TABLE `users` ADD `list_columns` text;