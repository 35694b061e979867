-- gateway: a referral's status row now comes from intake's
-- signpost.referral.received.v1 on referral.events, not from the gateway
-- reading back its own referral.submissions (sealed personal data it has
-- no need to read). The status link is checked by deriving its secret
-- again from the referral id (services/gateway/submit.c gw_status_read),
-- so no hash of it is kept.

ALTER TABLE referral_status DROP COLUMN status_secret_hash;
