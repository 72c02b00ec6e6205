-- gh_audit_insert: its live definition, as pg_get_functiondef prints it once every migration has run
-- (last changed by migration 0030_audit_trail). Change it with a new migration and update this file to
-- match: sql-functions.int.test.ts fails while the two differ.
CREATE OR REPLACE FUNCTION gh_audit_insert(p_event jsonb, p_revision bigint)
 RETURNS void
 LANGUAGE plpgsql
AS $function$
BEGIN
  INSERT INTO audit_events (event_id, event_time, account_id, principal_arn, user_name, access_key_id, source_ip,
    operation, request_parameters, error_code, error_name, revision)
  VALUES ((p_event->>'eventId')::uuid, to_timestamp((p_event->>'eventTimeMs')::double precision / 1000),
    p_event->>'accountId', p_event->>'principalArn', p_event->>'userName', p_event->>'accessKeyId',
    p_event->>'sourceIp', p_event->>'operation', p_event->'requestParameters', p_event->>'errorCode',
    p_event->>'errorName', p_revision);
END $function$;
