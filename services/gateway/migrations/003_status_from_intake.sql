-- gateway: a referral's status row now comes from intake's
-- signpost.referral.received.v1 on referral.events, not from the gateway
-- reading back its own referral.submissions (sealed personal data it has
-- no need to read). The status link is checked by deriving its secret
-- again from the referral id (services/gateway/submit.c gw_status_read),
-- so no hash of it is kept. referral_status and referral_owner now come
-- from the same event (002's reason for two tables, two topics in either
-- order, is gone); they stay two tables because each keeps its own rule
-- for a referral already there (the status stays, the owner is replaced).

ALTER TABLE referral_status DROP COLUMN status_secret_hash;
