-- Calls the regions serve (STS issuance, sampled Authorize decisions) join the audit trail: the
-- control plane consumes them from the regional audit topic. `region` names the region (NULL for
-- control-plane calls) and `response_elements` what identifies the result (an assumed role's ARN,
-- the issued access key id; never a secret). Kafka delivers at least once, so a region's event is
-- inserted once by its event_id; the index is partial, so control-plane writes do not pay for it.
ALTER TABLE audit_events ADD COLUMN region text, ADD COLUMN response_elements jsonb;
CREATE UNIQUE INDEX audit_events_region_event ON audit_events (event_id) WHERE region IS NOT NULL;

-- AWS's credential report, one per account: the CSV as generated, and when.
CREATE TABLE credential_reports (
  account_id    text PRIMARY KEY REFERENCES accounts ON DELETE CASCADE,
  generated_at  timestamptz NOT NULL,
  content       bytea NOT NULL
);
