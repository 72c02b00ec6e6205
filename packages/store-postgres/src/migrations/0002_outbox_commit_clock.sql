-- now() is the transaction's start; the outbox row is written last, just before COMMIT, so the
-- wall clock at insert is the better "committed at" for commit→publish latency.
ALTER TABLE outbox ALTER COLUMN committed_at SET DEFAULT clock_timestamp();
