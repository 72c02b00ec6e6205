-- Every AWS managed policy travels on the system account's stream (000000000000, the stream the
-- STS key set uses), so every region holds all of them, whether or not an account uses one: a
-- managed session policy (AssumeRole's PolicyArns) may name any of them. This column is the
-- catalog revision (builtin_revision) of the state the system stream last carried; seeding writes
-- one system revision with every policy whose carried revision differs and sets it in the same
-- transaction, so a crash in between carries them again at the next start, none is lost.
ALTER TABLE managed_policies ADD COLUMN system_carried_revision integer;
