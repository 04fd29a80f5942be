-- createBuild reads the highest build number of a repo from the log itself (under the
-- repo's advisory lock), so numbers are gap-free without waiting for a projection.
CREATE INDEX IF NOT EXISTS "events_build_created_repo_idx" ON "events" ((data->>'repoId'), ((data->>'number')::int)) WHERE type = 'BuildCreated';
