-- What the intake daemon's role may do beyond reading and writing rows
-- (lib/db.h db_migrate_grant applies this after every migration run).
-- A referral's status history is append-only: each change adds a row.
-- (Erasing a referral removes its history through the foreign key's
-- ON DELETE CASCADE, which PostgreSQL runs with the owner's rights.)
REVOKE UPDATE, DELETE ON status_history FROM :runtime;
