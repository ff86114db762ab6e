-- The warehouse keeps the city's clock whatever its server's default: every session on this
-- database reads and writes times in Asia/Shanghai unless it asks otherwise. Dates that depend on
-- "today" (a measure's due date, a period's cutoff) and the times dbt's snapshots keep without a
-- zone (history.grade_versions' validity) mean the same on the embedded server (set so already) and
-- on any other: a warehouse moved to a server in UTC, or restored there, keeps its days.
DO $$
BEGIN
    EXECUTE format('ALTER DATABASE %I SET timezone = %L', current_database(), 'Asia/Shanghai');
END
$$;
