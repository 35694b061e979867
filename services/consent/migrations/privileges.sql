-- What the consent daemon's role may do beyond reading and writing rows
-- (lib/db.h db_migrate_grant applies this after every migration run).
-- The ledger is append-only: rows are added, never changed; a person's
-- erasure goes through ledger_erase (002), which runs as the owner.
REVOKE UPDATE, DELETE ON ledger FROM :runtime;
GRANT EXECUTE ON FUNCTION ledger_erase(uuid) TO :runtime;
