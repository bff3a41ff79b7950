DROP INDEX `assets_location_idx`;--> statement-breakpoint
DROP INDEX `assets_group_idx`;--> statement-breakpoint
DROP INDEX `assets_agent_idx`;--> statement-breakpoint
DROP INDEX `assets_name_idx`;--> statement-breakpoint
CREATE INDEX `assets_type_name_idx` ON `assets` (`asset_type`,`name`,`id`);--> statement-breakpoint
CREATE INDEX `assets_status_name_idx` ON `assets` (`status`,`name`,`id`);--> statement-breakpoint
CREATE INDEX `assets_impact_name_idx` ON `assets` (`impact`,`name`,`id`);--> statement-breakpoint
CREATE INDEX `assets_location_name_idx` ON `assets` (`location_id`,`name`,`id`);--> statement-breakpoint
CREATE INDEX `assets_group_name_idx` ON `assets` (`group_id`,`name`,`id`);--> statement-breakpoint
CREATE INDEX `assets_agent_name_idx` ON `assets` (`agent_id`,`name`,`id`);--> statement-breakpoint
CREATE INDEX `assets_tag_id_idx` ON `assets` (`asset_tag`,`id`);--> statement-breakpoint
CREATE INDEX `assets_type_id_idx` ON `assets` (`asset_type`,`id`);--> statement-breakpoint
CREATE INDEX `assets_status_id_idx` ON `assets` (`status`,`id`);--> statement-breakpoint
CREATE INDEX `assets_impact_id_idx` ON `assets` (`impact`,`id`);--> statement-breakpoint
CREATE INDEX `assets_updated_id_idx` ON `assets` (`updated_at`,`id`);--> statement-breakpoint
CREATE INDEX `assets_name_idx` ON `assets` (`name`,`id`);--> statement-breakpoint
DROP INDEX `software_name_idx`;--> statement-breakpoint
CREATE INDEX `software_status_name_idx` ON `software` (`status`,`name`,`id`);--> statement-breakpoint
CREATE INDEX `software_impact_name_idx` ON `software` (`impact`,`name`,`id`);--> statement-breakpoint
CREATE INDEX `software_location_name_idx` ON `software` (`location_id`,`name`,`id`);--> statement-breakpoint
CREATE INDEX `software_group_name_idx` ON `software` (`group_id`,`name`,`id`);--> statement-breakpoint
CREATE INDEX `software_agent_name_idx` ON `software` (`agent_id`,`name`,`id`);--> statement-breakpoint
CREATE INDEX `software_publisher_id_idx` ON `software` (`publisher`,`id`);--> statement-breakpoint
CREATE INDEX `software_status_id_idx` ON `software` (`status`,`id`);--> statement-breakpoint
CREATE INDEX `software_impact_id_idx` ON `software` (`impact`,`id`);--> statement-breakpoint
CREATE INDEX `software_updated_id_idx` ON `software` (`updated_at`,`id`);--> statement-breakpoint
CREATE INDEX `software_name_idx` ON `software` (`name`,`id`);