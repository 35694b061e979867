-- gateway: who each referral belongs to, from signpost.referral.received.v1
-- on referral.events: the organisation (a provider may change only its
-- own organisation's referrals), the pseudonymous subject (consent
-- commands from the status link name it) and the privacy-notice version
-- the person saw. Kept beside referral_status (not in it) because the
-- received event and the submission come on different topics in either
-- order. Ids only; no personal data.

CREATE TABLE referral_owner (
        referral_id uuid PRIMARY KEY,
        organisation_id uuid,           -- null when intake did not know it
        subject_id uuid NOT NULL,
        privacy_notice_version text,
        updated_at timestamptz NOT NULL DEFAULT now()
);
