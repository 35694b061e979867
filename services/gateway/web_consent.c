/*
 * web_consent: the form on the referral status page with which a person
 * withdraws a consent or opts out of all contact, and its POST. The
 * status-link secret travels in the form body (not a new URL); the form
 * is CSRF-protected and has the honeypot field like the referral forms.
 * The change itself is gw_consent_person() (consents.c): a command on
 * consent.commands, shown as done only after the broker acknowledged it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "gateway.h"

static const struct {
        const char *purpose, *label;
} choices[] = {
    {"feedback_requests", "Stop asking me for feedback"},
    {"terms_change_notices", "Stop telling me about changed terms"},
    {"contact_about_service", "Stop contact about this service"},
    {"all_contact", "Do not contact me at all (opt out of all contact)"},
};
#define NCHOICES (sizeof(choices) / sizeof(choices[0]))

void
gw_web_consent_form(struct gw_call *call, struct gw_html *h, const char *id,
                    const char *key)
{
        char csrf[128] = "";

        gw_csrf_new(call->g->token_key, (int64_t)time(NULL), csrf);
        gw_html_f(h,
                  "<h2 class=\"govuk-heading-m\">Contact preferences</h2>"
                  "<form method=\"post\" action=\"/status/%s/consent\" "
                  "novalidate><input type=\"hidden\" name=\"csrf\" "
                  "value=\"%s\"><input type=\"hidden\" name=\"key\" "
                  "value=\"%s\"><div hidden><label for=\"website\">Leave "
                  "this empty</label><input id=\"website\" name=\"website\" "
                  "type=\"text\" tabindex=\"-1\" autocomplete=\"off\"></div>"
                  "<div class=\"govuk-form-group\"><fieldset "
                  "class=\"govuk-fieldset\"><legend class=\"govuk-fieldset__"
                  "legend govuk-fieldset__legend--s\">What do you want to "
                  "change?</legend><div class=\"govuk-radios\" "
                  "data-module=\"govuk-radios\">",
                  id, csrf, key);
        for (size_t i = 0; i < NCHOICES; i++)
                gw_html_f(h,
                          "<div class=\"govuk-radios__item\"><input "
                          "class=\"govuk-radios__input\" id=\"purpose-%s\" "
                          "name=\"purpose\" type=\"radio\" value=\"%s\">"
                          "<label class=\"govuk-label govuk-radios__label\" "
                          "for=\"purpose-%s\">%s</label></div>",
                          choices[i].purpose, choices[i].purpose,
                          choices[i].purpose, choices[i].label);
        gw_html_raw(h, "</div></fieldset></div><button type=\"submit\" "
                       "class=\"govuk-button govuk-button--warning\" "
                       "data-module=\"govuk-button\">Save my choice</button>"
                       "</form>");
}

/* done: the confirmation page, from the receipt. */
static void
done(struct gw_call *call, const char *id, const char *key,
     const json_t *receipt)
{
        struct gw_html h = {0};
        const char *purpose =
            json_string_value(json_object_get(receipt, "purpose"));
        char *m;

        for (size_t i = 0; i < NCHOICES; i++)
                if (purpose != NULL && strcmp(choices[i].purpose, purpose) == 0)
                        purpose = choices[i].label;
        gw_html_f(&h,
                  "<div class=\"govuk-panel govuk-panel--confirmation\"><h1 "
                  "class=\"govuk-panel__title\">Your choice is saved</h1>"
                  "<div class=\"govuk-panel__body\">%s</div></div><p "
                  "class=\"govuk-body\" id=\"receipt\">Recorded at %s under "
                  "privacy notice version %s. You can change this again "
                  "from your referral's status page.</p><p class=\"govuk-"
                  "body\"><a class=\"govuk-link\" href=\"/status/%s?key=%s\">"
                  "Back to your referral</a></p>",
                  purpose ? purpose : "",
                  json_string_value(json_object_get(receipt, "recorded_at")),
                  json_string_value(
                      json_object_get(receipt, "privacy_notice_version")),
                  id, key);
        m = gw_html_take(&h, NULL);
        gw_web_page(call, 200, "Your choice is saved", m ? m : "");
        free(m);
}

static void
change(struct gw_call *call, const char *id, const struct gw_form *f)
{
        const char *key = gw_form_get(f, "key");
        const char *purpose = gw_form_get(f, "purpose");
        struct gw_consent c = {.via = "web_form"};
        struct err e = {0};
        json_t *receipt = NULL;
        int st;

        if (purpose == NULL || !gw_consent_purpose_valid(purpose)) {
                gw_web_error(call, 422, "Choose what to change",
                             "Please go back and choose one option.");
                return;
        }
        snprintf(c.purpose, sizeof(c.purpose), "%s", purpose);
        snprintf(c.action, sizeof(c.action), "withdrawn");
        st = gw_consent_person(call->g, id, key, &c, &receipt, &e);
        if (st == 0)
                done(call, id, key, receipt);
        else if (st == 404)
                gw_web_error(call, 404, "Referral not found",
                             "We could not find that referral.");
        else
                gw_web_error(call, 503, "Sorry, there is a problem",
                             "Your choice could not be saved now. Nothing "
                             "was changed; please try again later.");
        json_decref(receipt);
}

void
gw_web_consent_post(struct gw_call *call)
{
        const char *id = http_req_param(call->req, "id");
        struct gw_form f = {0};

        if (gw_web_form_take(call, &f))
                change(call, id, &f);
        gw_form_fini(&f);
}
