-- A status reason is free text about a person (why a referral was
-- declined, say): it is kept only inside the referral's encryption, as an
-- AEAD blob under the person's data key with "<referral id>:reason" as
-- additional data, so erasing the person erases it too.
--
-- The plaintext column goes. No deployment holds real referrals yet; a
-- development database loses the text of its old reasons, never a status.
ALTER TABLE status_history DROP COLUMN reason;
ALTER TABLE status_history ADD COLUMN reason_blob text;
