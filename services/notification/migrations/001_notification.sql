-- notification: templates, the delivery log (message), one-time codes, and
-- the replicas this daemon keeps of other daemons' state: consent.state
-- (consent_state) and the service catalogue (catalogue_service,
-- catalogue_org).
--
-- No plaintext recipient is stored: a message keeps the blind index of its
-- address and the sealed request (sealed to notification's own key) only
-- until the message is sent, suppressed or finally failed.

CREATE TABLE template (
        kind text NOT NULL CHECK (kind ~ '^[a-z0-9_]{1,64}$'),
        channel text NOT NULL CHECK (channel IN ('email', 'sms')),
        subject text,
        body_text text NOT NULL,
        body_html text,
        updated_at timestamptz NOT NULL DEFAULT now(),
        updated_by text NOT NULL DEFAULT 'migration',
        PRIMARY KEY (kind, channel)
);

CREATE TABLE message (
        message_id uuid PRIMARY KEY,
        template text NOT NULL,
        audience text NOT NULL CHECK (audience IN ('person', 'referrer',
                'provider', 'admin')),
        subject_id uuid,
        purpose text,
        referral_id uuid,
        service_id uuid,
        channel text CHECK (channel IN ('email', 'sms')),
        recipient_index text,
        sealed text,
        status text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending',
                'sending', 'sent', 'suppressed', 'failed')),
        attempts int NOT NULL DEFAULT 0,
        next_attempt_at timestamptz NOT NULL DEFAULT now(),
        claimed_by text,
        lease_until timestamptz,
        reason text,
        sink text,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now(),
        sent_at timestamptz,
        CHECK (status IN ('pending', 'sending') OR sealed IS NULL)
);
CREATE INDEX message_due ON message (next_attempt_at)
        WHERE status = 'pending';
CREATE INDEX message_sending ON message (claimed_by)
        WHERE status = 'sending';
CREATE INDEX message_recipient ON message (recipient_index);
CREATE INDEX message_subject ON message (subject_id);

CREATE TABLE code (
        id uuid PRIMARY KEY,
        subject_id uuid NOT NULL,
        recipient_index text NOT NULL,
        code_hash text NOT NULL,
        message_id uuid NOT NULL,
        attempts int NOT NULL DEFAULT 0,
        expires_at timestamptz NOT NULL,
        used_at timestamptz,
        created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX code_subject ON code (subject_id);

CREATE TABLE consent_state (
        subject_id uuid PRIMARY KEY,
        purposes jsonb NOT NULL,
        opted_out boolean NOT NULL,
        seq bigint NOT NULL,
        updated_at text,
        received_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE catalogue_service (
        id uuid PRIMARY KEY,
        name text NOT NULL,
        organisation_id uuid,
        organisation_name text,
        updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE catalogue_org (
        id uuid PRIMARY KEY,
        name text NOT NULL,
        updated_at timestamptz NOT NULL DEFAULT now()
);
