-- ledger_erase: the one way rows leave the ledger (a person's erasure).
-- The daemon's role has no UPDATE or DELETE on the ledger and owns
-- neither the table nor its triggers (privileges.sql); this function runs
-- as the schema's owner, sets the flag the guard trigger lets a DELETE
-- through with, deletes one subject's rows and clears the flag again.
CREATE FUNCTION ledger_erase(subject uuid) RETURNS bigint
        LANGUAGE plpgsql SECURITY DEFINER SET search_path FROM CURRENT AS $$
DECLARE
        n bigint;
BEGIN
        PERFORM set_config('consent.erasure', 'on', true);
        DELETE FROM ledger WHERE subject_id = subject;
        GET DIAGNOSTICS n = ROW_COUNT;
        PERFORM set_config('consent.erasure', 'off', true);
        RETURN n;
END$$;
REVOKE ALL ON FUNCTION ledger_erase(uuid) FROM PUBLIC;
