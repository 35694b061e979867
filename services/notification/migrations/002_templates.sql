-- The default templates, one per message kind intake, consent and
-- retention request, for email (subject, text, HTML) and SMS (text).
-- Placeholders are {{name}}; {{name|fallback}} uses the fallback when the
-- request carries no value. service_name and organisation_name come from
-- the catalogue replica when the request does not give them. Admins edit
-- these over HTTP (PUT /v1/templates/{kind}/{channel}).
--
-- Messages to providers and admins carry no personal data: they point to
-- the referral, which is read after signing in.

INSERT INTO template (kind, channel, subject, body_text, body_html) VALUES
('referral_received_person', 'email',
 'We have received your referral ({{reference}})',
$$Hello {{name|there}},

Your referral to {{service_name}} ({{organisation_name}}) has been received. Your reference is {{reference}}.

{{organisation_name}} will contact you about the service.

You can see its progress, or withdraw your consent, at {{status_url|the link on your confirmation page}}.
$$,
$$<p>Hello {{name|there}},</p>
<p>Your referral to <strong>{{service_name}}</strong> ({{organisation_name}}) has been received. Your reference is <strong>{{reference}}</strong>.</p>
<p>{{organisation_name}} will contact you about the service.</p>
<p>You can see its progress, or withdraw your consent, at {{status_url|the link on your confirmation page}}.</p>
$$),
('referral_received_person', 'sms', NULL,
 'Your referral to {{service_name}} has been received. Reference {{reference}}. {{organisation_name}} will contact you.', NULL),

('referral_received_referrer', 'email',
 'Thank you for your referral ({{reference}})',
$$Hello {{name|there}},

Thank you. Your referral to {{service_name}} ({{organisation_name}}) has been received. The reference is {{reference}}.
$$,
$$<p>Hello {{name|there}},</p>
<p>Thank you. Your referral to <strong>{{service_name}}</strong> ({{organisation_name}}) has been received. The reference is <strong>{{reference}}</strong>.</p>
$$),
('referral_received_referrer', 'sms', NULL,
 'Thank you. Your referral to {{service_name}} has been received. Reference {{reference}}.', NULL),

('new_referral_provider', 'email',
 'New referral {{reference}} for {{service_name}}',
$$A new referral for {{service_name}} has been received, reference {{reference}}.

Sign in to read and accept it: {{referral_url|sign in to signpost}}
$$,
$$<p>A new referral for <strong>{{service_name}}</strong> has been received, reference <strong>{{reference}}</strong>.</p>
<p>Sign in to read and accept it: {{referral_url|sign in to signpost}}</p>
$$),
('new_referral_provider', 'sms', NULL,
 'New referral {{reference}} for {{service_name}}. Sign in to signpost to read it.', NULL),

('referral_reminder_provider', 'email',
 'Reminder: referral {{reference}} is waiting',
$$Referral {{reference}} for {{service_name}} has not been picked up yet.

Sign in to read and accept it: {{referral_url|sign in to signpost}}
$$,
$$<p>Referral <strong>{{reference}}</strong> for <strong>{{service_name}}</strong> has not been picked up yet.</p>
<p>Sign in to read and accept it: {{referral_url|sign in to signpost}}</p>
$$),
('referral_reminder_provider', 'sms', NULL,
 'Reminder: referral {{reference}} for {{service_name}} is waiting.', NULL),

('referral_escalation_admin', 'email',
 'Referral {{reference}} for {{service_name}} needs attention',
$$Referral {{reference}} for {{service_name}} ({{organisation_name}}) has not been picked up after reminders.
$$,
$$<p>Referral <strong>{{reference}}</strong> for <strong>{{service_name}}</strong> ({{organisation_name}}) has not been picked up after reminders.</p>
$$),
('referral_escalation_admin', 'sms', NULL,
 'Referral {{reference}} for {{service_name}} needs attention.', NULL),

('referral_completed_person', 'email',
 'Your referral {{reference}} is complete',
$$Hello {{name|there}},

{{service_name}} has marked your referral {{reference}} as complete.
$$,
$$<p>Hello {{name|there}},</p>
<p>{{service_name}} has marked your referral <strong>{{reference}}</strong> as complete.</p>
$$),
('referral_completed_person', 'sms', NULL,
 '{{service_name}} has marked your referral {{reference}} as complete.', NULL),

('referral_declined_person', 'email',
 'An update on your referral {{reference}}',
$$Hello {{name|there}},

{{service_name}} is not able to take your referral {{reference}}.

{{reason|}}
$$,
$$<p>Hello {{name|there}},</p>
<p>{{service_name}} is not able to take your referral <strong>{{reference}}</strong>.</p>
<p>{{reason|}}</p>
$$),
('referral_declined_person', 'sms', NULL,
 '{{service_name}} is not able to take your referral {{reference}}.', NULL),

('feedback_request_person', 'email',
 'How was {{service_name}}?',
$$Hello {{name|there}},

You were referred to {{service_name}} (reference {{reference}}). Would you tell us how it went? {{feedback_url|Reply to this message.}}

You agreed to feedback requests; you can withdraw that at {{status_url|the link on your confirmation page}}.
$$,
$$<p>Hello {{name|there}},</p>
<p>You were referred to <strong>{{service_name}}</strong> (reference {{reference}}). Would you tell us how it went? {{feedback_url|Reply to this message.}}</p>
<p>You agreed to feedback requests; you can withdraw that at {{status_url|the link on your confirmation page}}.</p>
$$),
('feedback_request_person', 'sms', NULL,
 'How was {{service_name}}? Tell us: {{feedback_url|reply to this message}}', NULL),

('one_time_code', 'email',
 'Your signpost code',
$$Your code is {{code}}. It expires in 10 minutes.

If you did not ask for it, you can ignore this message.
$$,
$$<p>Your code is <strong>{{code}}</strong>. It expires in 10 minutes.</p>
<p>If you did not ask for it, you can ignore this message.</p>
$$),
('one_time_code', 'sms', NULL,
 'Your signpost code is {{code}}. It expires in 10 minutes.', NULL);
