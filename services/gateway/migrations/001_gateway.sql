-- gateway: API tokens (only a keyed hash of each token is stored),
-- idempotency keys of accepted commands, and the replicas the gateway
-- keeps from events: the service catalogue (directory.services,
-- directory.organisations) and each referral's public status
-- (referral.submissions, referral.events). No personal data lives here.

CREATE TABLE api_tokens (
        id uuid PRIMARY KEY,
        token_hash text NOT NULL UNIQUE, -- secret_token_hash, token-hash.key
        role text NOT NULL CHECK (role IN ('provider', 'admin', 'support')),
        org uuid,
        label text NOT NULL DEFAULT '',
        reason_required boolean NOT NULL DEFAULT false,
        expires_at timestamptz,
        revoked_at timestamptz,
        created_at timestamptz NOT NULL DEFAULT now(),
        CHECK (role <> 'provider' OR org IS NOT NULL),
        CHECK (role <> 'support' OR (expires_at IS NOT NULL
                                     AND reason_required))
);

CREATE TABLE idempotency_keys (
        scope text NOT NULL,  -- "public" or the token id
        key text NOT NULL,
        body_hash text NOT NULL,
        referral_id uuid NOT NULL,
        reference text NOT NULL,
        acknowledged boolean NOT NULL DEFAULT false, -- Kafka has it
        created_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (scope, key)
);
CREATE INDEX idempotency_keys_created ON idempotency_keys (created_at);

CREATE TABLE catalogue_organisations (
        id uuid PRIMARY KEY,
        name text NOT NULL,
        updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE catalogue_services (
        id uuid PRIMARY KEY,
        organization_id uuid,
        name text NOT NULL,
        status text NOT NULL,
        accepts_referrals boolean NOT NULL DEFAULT false,
        updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE referral_status (
        referral_id uuid PRIMARY KEY,
        reference text NOT NULL,
        status_secret_hash text NOT NULL,
        service_id uuid,
        status text NOT NULL DEFAULT 'received',
        updated_at timestamptz NOT NULL DEFAULT now()
);
