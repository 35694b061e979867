-- intake's replica of consent.state (the consent daemon owns the ledger):
-- per subject, whether the person lets the provider see their referral
-- and whether they opted out of all contact. The provider's reads and the
-- routing follow it (services/intake/consent_state.c). seq is the length
-- of the subject's ledger chain: a state with a lower seq is older and is
-- ignored.
CREATE TABLE subject_consent (
        subject_id uuid PRIMARY KEY,
        share_with_provider text NOT NULL
                CHECK (share_with_provider IN ('granted', 'withdrawn')),
        opted_out boolean NOT NULL,
        seq bigint NOT NULL,
        updated_at timestamptz NOT NULL
);
