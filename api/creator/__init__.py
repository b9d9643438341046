"""Creator tools: analytics from activity events, scheduled posts and lives."""
