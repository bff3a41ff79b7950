-- The two built-in roles every deployment starts with. Administrator holds every permission
-- (the app also treats builtin='administrator' as all-powerful, so new permissions reach it);
-- Agent holds none of the security ones.
INSERT INTO `roles` (`id`, `name`, `builtin`, `permissions`, `created_at`) VALUES
  ('role_administrator', 'Administrator', 'administrator', '["manageAuthentication","manageRecoveryAndMfaReset","manageAgents","viewAssets","manageAssets"]', 0),
  ('role_agent', 'Agent', 'agent', '["viewAssets","manageAssets"]', 0);
