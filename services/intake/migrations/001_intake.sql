-- intake: referrals with their personal fields encrypted (one AEAD blob
-- per part under the person's data key), the people (subjects) those keys
-- belong to, status history, stale-referral marks, and a
-- replica of the directory's catalogue (services, organisations).
--
-- Nothing in this schema holds personal data in plaintext: the blobs are
-- XChaCha20-Poly1305 ciphertext (base64url of nonce || ct), the indexes
-- are keyed BLAKE2b, postcode_district is the outward code at most.

CREATE TABLE subjects (
        id uuid PRIMARY KEY,            -- pseudonymous person id
        wrapped_dek text NOT NULL,      -- "<kid>:<b64>" under the KEK
        email_index text,
        phone_index text,
        created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX subjects_email ON subjects (email_index);
CREATE INDEX subjects_phone ON subjects (phone_index);

CREATE TABLE referrals (
        id uuid PRIMARY KEY,
        reference text NOT NULL UNIQUE,
        service_id uuid NOT NULL,
        organisation_id uuid,
        subject_id uuid NOT NULL REFERENCES subjects (id),
        kind text NOT NULL CHECK (kind IN ('self', 'on_behalf',
                                           'professional')),
        status text NOT NULL DEFAULT 'received' CHECK (status IN (
                'received', 'delivered', 'accepted', 'contacted',
                'in_progress', 'completed', 'declined', 'withdrawn',
                'unable_to_contact')),
        flags text[] NOT NULL DEFAULT '{}',
        consents jsonb NOT NULL,
        privacy_notice_version text NOT NULL,
        status_secret_hash text NOT NULL,
        postcode_district text,
        taxonomy_terms jsonb NOT NULL DEFAULT '[]',
        personal_blob text NOT NULL,    -- person, notes
        referrer_blob text,             -- referrer (on_behalf, professional)
        special_blob text,              -- special-category fields, shares
        referrer_email_index text,
        referrer_phone_index text,
        submitted_at timestamptz NOT NULL,
        received_at timestamptz NOT NULL DEFAULT now(),
        routed_at timestamptz,
        contacted_at timestamptz,
        closed_at timestamptz,
        reminded_at timestamptz,
        escalated_at timestamptz,
        updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX referrals_org ON referrals (organisation_id, received_at);
CREATE INDEX referrals_subject ON referrals (subject_id);
CREATE INDEX referrals_open ON referrals (received_at)
        WHERE contacted_at IS NULL AND closed_at IS NULL;
CREATE INDEX referrals_held ON referrals (organisation_id)
        WHERE routed_at IS NULL;

CREATE TABLE status_history (
        id bigserial PRIMARY KEY,
        referral_id uuid NOT NULL REFERENCES referrals (id)
                ON DELETE CASCADE,
        from_status text,
        to_status text NOT NULL,
        reason text,
        by_sub text NOT NULL,
        by_role text NOT NULL,
        by_org text,
        at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX status_history_referral ON status_history (referral_id, id);

-- Catalogue replica from directory.services / directory.organisations.
CREATE TABLE organisations (
        id uuid PRIMARY KEY,
        name text NOT NULL DEFAULT '',
        partner_public_key text,
        deleted boolean NOT NULL DEFAULT false,
        updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE services (
        id uuid PRIMARY KEY,
        organisation_id uuid,
        name text NOT NULL DEFAULT '',
        status text NOT NULL DEFAULT 'active',
        accepts_referrals boolean NOT NULL DEFAULT false,
        notice_email text,
        taxonomy_terms jsonb NOT NULL DEFAULT '[]',
        deleted boolean NOT NULL DEFAULT false,
        updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX services_org ON services (organisation_id);

-- ts_utc: RFC 3339 text in UTC with milliseconds, as every API answers.
CREATE FUNCTION ts_utc(t timestamptz) RETURNS text
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
        SELECT to_char(t AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')
$$;
