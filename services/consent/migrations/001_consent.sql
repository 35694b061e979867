-- consent: the append-only consent ledger, the current state per subject
-- computed from it, and the privacy-notice versions consents refer to.
--
-- The ledger is append-only: a trigger refuses UPDATE, TRUNCATE and DELETE
-- unless the erasure path has set consent.erasure = 'on' for its
-- transaction (SET LOCAL); only a DELETE passes even then. Each row carries
-- prev_hash and hash (keyed BLAKE2b over the previous hash and the row's
-- canonical text, computed by the daemon), chained per subject, so an
-- edited row is detectable by consent_ledger_verify().

CREATE TABLE privacy_notice (
        version text PRIMARY KEY CHECK (length(version) BETWEEN 1 AND 64),
        published_at timestamptz,  -- NULL: first seen on a consent only
        url text,
        summary text,
        recorded_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE ledger (
        seq bigserial PRIMARY KEY,
        id uuid NOT NULL UNIQUE,
        subject_id uuid NOT NULL,
        blind_index text,
        purpose text NOT NULL CHECK (purpose IN ('share_with_provider',
                'contact_about_service', 'feedback_requests',
                'terms_change_notices', 'share_with_other_organisations',
                'all_contact')),
        action text NOT NULL CHECK (action IN ('granted', 'withdrawn')),
        expressed_via text NOT NULL CHECK (expressed_via IN ('web_form',
                'api', 'partner', 'admin')),
        notice_version text REFERENCES privacy_notice (version),
        recorded_by text NOT NULL,
        at timestamptz NOT NULL,
        n int NOT NULL CHECK (n >= 1),   -- position in the subject's chain
        prev_hash text NOT NULL,
        hash text NOT NULL,
        UNIQUE (subject_id, n)
);
CREATE INDEX ledger_blind_index ON ledger (blind_index)
        WHERE blind_index IS NOT NULL;

CREATE FUNCTION ledger_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
        IF TG_OP = 'DELETE'
           AND current_setting('consent.erasure', true) = 'on' THEN
                RETURN OLD;
        END IF;
        RAISE EXCEPTION 'consent ledger is append-only (% refused)', TG_OP
                USING ERRCODE = 'integrity_constraint_violation';
END$$;
CREATE TRIGGER ledger_guard_row BEFORE UPDATE OR DELETE ON ledger
        FOR EACH ROW EXECUTE FUNCTION ledger_guard();
CREATE TRIGGER ledger_guard_truncate BEFORE TRUNCATE ON ledger
        FOR EACH STATEMENT EXECUTE FUNCTION ledger_guard();

-- state: the current state per subject, recomputed from the ledger after
-- each append (purposes: {purpose: "granted"|"withdrawn"}).
CREATE TABLE state (
        subject_id uuid PRIMARY KEY,
        purposes jsonb NOT NULL,
        opted_out boolean NOT NULL,
        seq bigint NOT NULL,
        updated_at timestamptz NOT NULL
);
