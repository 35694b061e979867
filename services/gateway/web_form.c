/*
 * web_form: "make a referral" for the three kinds. GET shows the form
 * with a fresh CSRF token; POST checks the token and the honeypot, turns
 * the fields into the API's JSON and hands it to gw_submit, then shows
 * the confirmation (reference and status link) or the form again with
 * every error at once (GOV.UK error summary, and each beside its field)
 * and everything typed kept. The CSRF token is
 * the Idempotency-Key, so a double click makes one referral.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "gateway.h"

/* One input: form name, JSON path, label, kinds it shows for, type. */
struct field {
        const char *name;
        const char *json; /* "person.name" */
        const char *label;
        const char *kinds; /* "sop" = self, on_behalf, professional */
        const char *type;  /* text, email, tel, textarea */
        const char *autocomplete;
};

static const struct field fields[] = {
    {"referrer_name", "referrer.name", "Your full name", "op", "text", "name"},
    {"referrer_relationship", "referrer.relationship",
     "Your relationship to the person", "o", "text", "off"},
    {"referrer_organisation", "referrer.organisation", "Your organisation", "p",
     "text", "organization"},
    {"referrer_role", "referrer.role", "Your role", "p", "text",
     "organization-title"},
    {"referrer_email", "referrer.email", "Your email address", "op", "email",
     "email"},
    {"referrer_phone", "referrer.phone", "Your phone number", "op", "tel",
     "tel"},
    {"person_name", "person.name", "Full name", "sop", "text", "name"},
    {"person_email", "person.email", "Email address", "sop", "email", "email"},
    {"person_phone", "person.phone", "UK phone number", "sop", "tel", "tel"},
    {"person_address", "person.address", "Address", "sop", "textarea",
     "street-address"},
    {"person_postcode", "person.postcode", "Postcode", "sop", "text",
     "postal-code"},
    {"health", "special_category.health",
     "Support needs or health (optional, special category information)", "sop",
     "textarea", "off"},
    {"notes", "notes", "Anything else the service should know (optional)",
     "sop", "textarea", "off"},
    {NULL, NULL, NULL, NULL, NULL, NULL},
};

static const char *
kind_letter(const char *kind)
{
        return strcmp(kind, "on_behalf") == 0      ? "o"
               : strcmp(kind, "professional") == 0 ? "p"
                                                   : "s";
}

static const char *
kind_of(const char *k)
{
        if (k != NULL &&
            (strcmp(k, "on_behalf") == 0 || strcmp(k, "professional") == 0))
                return k;
        return "self";
}

/* What the form shows when the answers are not acceptable: every field
 * error at once, in the order of the form. */
#define MAX_ERRORS 16
struct form_errors {
        size_t n;
        const char *field[MAX_ERRORS]; /* form field names */
        const char *text[MAX_ERRORS];  /* static text */
};

/* error_for: the message for form field name, NULL when none. */
static const char *
error_for(const struct form_errors *es, const char *name)
{
        for (size_t i = 0; es != NULL && i < es->n; i++)
                if (strcmp(es->field[i], name) == 0)
                        return es->text[i];
        return NULL;
}

/* form_order: position of a form field on the page (consent last). */
static int
form_order(const char *name)
{
        int i = 0;

        for (const struct field *f = fields; f->name; f++, i++)
                if (strcmp(f->name, name) == 0)
                        return i;
        return i;
}

/* errors_add: keeps es in page order; false when name is already there
 * or es is full. */
static bool
errors_add(struct form_errors *es, const char *name, const char *text)
{
        size_t i;

        if (es->n == MAX_ERRORS || error_for(es, name) != NULL)
                return false;
        for (i = es->n;
             i > 0 && form_order(es->field[i - 1]) > form_order(name); i--) {
                es->field[i] = es->field[i - 1];
                es->text[i] = es->text[i - 1];
        }
        es->field[i] = name;
        es->text[i] = text;
        es->n++;
        return true;
}

/* error_field: the form field an API error names. */
static const char *
error_field(const char *json_field)
{
        if (strcmp(json_field, "person") == 0)
                return "person_email";
        if (strcmp(json_field, "referrer") == 0)
                return "referrer_email";
        if (strncmp(json_field, "consents", 8) == 0)
                return "consent_share";
        for (const struct field *f = fields; f->name; f++)
                if (strcmp(f->json, json_field) == 0)
                        return f->name;
        return "person_name";
}

/* error_text: the GOV.UK-style message for an API error. */
static const char *
error_text(const struct err *e)
{
        static const char *const map[][2] = {
            {"is not a valid UK phone", "Enter a UK phone number, like 07700 "
                                        "900 982"},
            {"is not a valid email", "Enter an email address in the correct "
                                     "format, like name@example.com"},
            {"is not a UK postcode", "Enter a real postcode, like KT1 1EU"},
            {"needs at least one way", "Enter an email address, a phone "
                                       "number or an address"},
            {"needs an email or a phone", "Enter your email address or phone "
                                          "number"},
            {"consent to share", "Tick the box to agree to share these "
                                 "details, or the service cannot receive "
                                 "the referral"},
            {"is too long", "The answer is too long"},
            {"is required", "Answer this question"},
        };

        for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
                if (strstr(e->msg, map[i][0]) != NULL)
                        return map[i][1];
        return "Check your answers";
}

static void
input(struct gw_html *h, const struct field *f, const char *val,
      const char *err)
{
        bool area = strcmp(f->type, "textarea") == 0;

        gw_html_raw(h, err ? "<div class=\"govuk-form-group "
                             "govuk-form-group--error\">"
                           : "<div class=\"govuk-form-group\">");
        gw_html_f(h, "<label class=\"govuk-label\" for=\"%s\">%s</label>",
                  f->name, f->label);
        if (err != NULL)
                gw_html_f(h,
                          "<p id=\"%s-error\" class=\"govuk-error-message\">"
                          "<span class=\"govuk-visually-hidden\">Error:"
                          "</span> %s</p>",
                          f->name, err);
        if (area)
                gw_html_raw(h, err ? "<textarea class=\"govuk-textarea "
                                     "govuk-textarea--error\" rows=\"3\""
                                   : "<textarea class=\"govuk-textarea\" "
                                     "rows=\"3\"");
        else
                gw_html_f(h,
                          "<input class=\"govuk-input%s\" type=\"%s\" "
                          "spellcheck=\"false\"",
                          err ? " govuk-input--error" : "", f->type);
        gw_html_f(h, " id=\"%s\" name=\"%s\" autocomplete=\"%s\"", f->name,
                  f->name, f->autocomplete);
        if (err != NULL)
                gw_html_f(h, " aria-describedby=\"%s-error\"", f->name);
        if (area)
                gw_html_f(h, ">%s</textarea></div>", val ? val : "");
        else
                gw_html_f(h, " value=\"%s\"></div>", val ? val : "");
}

static void
checkbox(struct gw_html *h, const char *name, const char *label, bool on,
         const char *err)
{
        gw_html_f(h,
                  "<div class=\"govuk-checkboxes__item\"><input class=\""
                  "govuk-checkboxes__input\" id=\"%s\" name=\"%s\" "
                  "type=\"checkbox\" value=\"yes\"",
                  name, name);
        if (on)
                gw_html_raw(h, " checked");
        if (err != NULL)
                gw_html_f(h, " aria-describedby=\"%s-error\"", name);
        gw_html_f(h,
                  "><label class=\"govuk-label govuk-checkboxes__label\" "
                  "for=\"%s\">%s</label></div>",
                  name, label);
}

static void
consents(struct gw_html *h, const struct gw_form *f,
         const struct form_errors *es)
{
        const char *err = error_for(es, "consent_share");
        bool bad = err != NULL;

        gw_html_raw(h, bad ? "<div class=\"govuk-form-group "
                             "govuk-form-group--error\">"
                           : "<div class=\"govuk-form-group\">");
        gw_html_raw(h, "<fieldset class=\"govuk-fieldset\"><legend class=\""
                       "govuk-fieldset__legend govuk-fieldset__legend--m\">"
                       "Consent</legend>");
        if (bad)
                gw_html_f(h,
                          "<p id=\"consent_share-error\" class=\"govuk-"
                          "error-message\"><span class=\"govuk-visually-"
                          "hidden\">Error:</span> %s</p>",
                          err);
        gw_html_raw(h, "<div class=\"govuk-checkboxes\" "
                       "data-module=\"govuk-checkboxes\">");
        checkbox(h, "consent_share",
                 "I agree that these details are shared with the service "
                 "provider so they can respond to this referral (needed)",
                 f && gw_form_get(f, "consent_share"), bad ? err : NULL);
        checkbox(h, "share_health",
                 "Share the support needs or health information above with "
                 "the provider",
                 f && gw_form_get(f, "share_health"), NULL);
        checkbox(h, "consent_feedback",
                 "You may ask me for feedback later (optional)",
                 f && gw_form_get(f, "consent_feedback"), NULL);
        checkbox(h, "consent_terms",
                 "Tell me if the terms of this service change (optional)",
                 f && gw_form_get(f, "consent_terms"), NULL);
        gw_html_raw(h, "</div></fieldset></div>");
}

static const char *
title_of(const char *kind)
{
        return strcmp(kind, "on_behalf") == 0 ? "Refer someone else"
               : strcmp(kind, "professional") == 0
                   ? "Refer someone as a professional"
                   : "Refer yourself";
}

/* error_summary: the GOV.UK error summary linking to every field. */
static void
error_summary(struct gw_html *h, const struct form_errors *es)
{
        gw_html_raw(h, "<div class=\"govuk-error-summary\" "
                       "data-module=\"govuk-error-summary\"><div "
                       "role=\"alert\"><h2 class=\"govuk-error-"
                       "summary__title\">There is a problem</h2><div "
                       "class=\"govuk-error-summary__body\"><ul "
                       "class=\"govuk-list govuk-error-summary__list\">");
        for (size_t i = 0; i < es->n; i++)
                gw_html_f(h, "<li><a href=\"#%s\">%s</a></li>", es->field[i],
                          es->text[i]);
        gw_html_raw(h, "</ul></div></div></div>");
}

/* render_form: the form for kind, filled from f (may be NULL), with the
 * errors in es (may be NULL) in the summary and beside their fields.
 * After a 503 the form keeps the token it was sent with: it is the
 * referral's Idempotency-Key, and the broker may still commit that
 * referral, so sending it again must not make a second one. */
static void
render_form(struct gw_call *call, int status, const struct gw_service *s,
            const char *kind, const struct gw_form *f,
            const struct form_errors *es)
{
        struct gw_html h = {0};
        char csrf[128] = "", *m;
        const char *k = kind_letter(kind);

        if (status == 503 && f != NULL && gw_form_get(f, "csrf") != NULL)
                snprintf(csrf, sizeof(csrf), "%s", gw_form_get(f, "csrf"));
        else
                gw_csrf_new(call->g->token_key, (int64_t)time(NULL), csrf);
        if (es != NULL && es->n > 0)
                error_summary(&h, es);
        gw_html_f(&h,
                  "<span class=\"govuk-caption-l\">%s</span><h1 "
                  "class=\"govuk-heading-l\">%s</h1><form method=\"post\" "
                  "action=\"/services/%s/refer\" novalidate>"
                  "<input type=\"hidden\" name=\"csrf\" value=\"%s\">"
                  "<input type=\"hidden\" name=\"kind\" value=\"%s\">"
                  "<div hidden><label for=\"website\">Leave this empty"
                  "</label><input id=\"website\" name=\"website\" "
                  "type=\"text\" tabindex=\"-1\" autocomplete=\"off\">"
                  "</div>",
                  s->name, title_of(kind), s->id, csrf, kind);
        for (const struct field *fd = fields; fd->name; fd++) {
                if (strchr(fd->kinds, k[0]) == NULL)
                        continue;
                if (strcmp(fd->name, "person_name") == 0)
                        gw_html_raw(&h, k[0] == 's'
                                            ? "<h2 class=\"govuk-heading-m\">"
                                              "Your details</h2>"
                                            : "<h2 class=\"govuk-heading-m\">"
                                              "The person you are referring"
                                              "</h2>");
                input(&h, fd, f ? gw_form_get(f, fd->name) : NULL,
                      error_for(es, fd->name));
        }
        consents(&h, f, es);
        gw_html_raw(&h, "<button type=\"submit\" class=\"govuk-button\">"
                        "Send referral</button></form>");
        m = gw_html_take(&h, NULL);
        gw_web_page(call, status, title_of(kind), m ? m : "");
        free(m);
}

static bool
open_service(struct gw_call *call, struct gw_service *s)
{
        const char *id = http_req_param(call->req, "id");

        if (!uuid_valid(id) || !gw_catalogue_get(call->g->cat, id, s)) {
                gw_web_error(call, 404, "Page not found",
                             "There is no such service.");
                return false;
        }
        if (!gw_service_open(s)) {
                gw_web_error(call, 404, "Not taking referrals",
                             "This service is not taking referrals through "
                             "Signpost.");
                return false;
        }
        return true;
}

void
gw_web_refer_get(struct gw_call *call)
{
        struct gw_service s;

        if (open_service(call, &s))
                render_form(call, 200, &s,
                            kind_of(http_req_query(call->req, "kind")), NULL,
                            NULL);
}

/* set_path: body[a][b] = v for json path "a.b" (v non-empty). */
static void
set_path(json_t *body, const char *path, const char *v)
{
        const char *dot = strchr(path, '.');
        char head[32];
        json_t *o;

        if (v == NULL || *v == '\0')
                return;
        if (dot == NULL) {
                json_object_set_new(body, path, json_string(v));
                return;
        }
        snprintf(head, sizeof(head), "%.*s", (int)(dot - path), path);
        o = json_object_get(body, head);
        if (o == NULL)
                json_object_set_new(body, head, o = json_object());
        json_object_set_new(o, dot + 1, json_string(v));
}

static json_t *
to_json(const struct gw_service *s, const char *kind, const struct gw_form *f)
{
        json_t *b = json_pack("{s:s, s:s, s:{}}", "service_id", s->id, "kind",
                              kind, "person");
        const char *k = kind_letter(kind);

        for (const struct field *fd = fields; b && fd->name; fd++)
                if (strchr(fd->kinds, k[0]) != NULL)
                        set_path(b, fd->json, gw_form_get(f, fd->name));
        if (b == NULL)
                return NULL;
        json_object_set_new(
            b, "consents",
            json_pack("{s:b, s:b, s:b}", "share_with_provider",
                      gw_form_get(f, "consent_share") != NULL,
                      "feedback_requests",
                      gw_form_get(f, "consent_feedback") != NULL,
                      "terms_change_notices",
                      gw_form_get(f, "consent_terms") != NULL));
        if (gw_form_get(f, "share_health") != NULL &&
            json_object_get(json_object_get(b, "special_category"), "health"))
                json_object_set_new(b, "share_special_category",
                                    json_pack("[s]", "health"));
        return b;
}

static void
confirmation(struct gw_call *call, const struct gw_service *s, const char *id,
             const char *ref, const char *secret)
{
        struct gw_html h = {0};
        char *m;

        gw_html_f(&h,
                  "<div class=\"govuk-panel govuk-panel--confirmation\"><h1 "
                  "class=\"govuk-panel__title\">Referral sent</h1><div "
                  "class=\"govuk-panel__body\">Your reference is<br><strong "
                  "id=\"reference\">%s</strong></div></div><p class=\"govuk-"
                  "body\">We have sent your referral to %s. They will "
                  "contact you about it.</p><p class=\"govuk-body\">You can "
                  "<a class=\"govuk-link\" id=\"status-link\" "
                  "href=\"/status/%s?key=%s\">check the status of your "
                  "referral</a> at any time. Keep this link: it is the only "
                  "way to see the status without signing in.</p>",
                  ref, s->name, id, secret);
        m = gw_html_take(&h, NULL);
        gw_web_page(call, 200, "Referral sent", m ? m : "");
        free(m);
}

/* stand_in: puts an acceptable value where the check found a problem,
 * so the next check finds the next problem (the body is only looked
 * at, never sent). */
static void
stand_in(json_t *b, const char *json_field)
{
        const char *last = strrchr(json_field, '.');

        last = last ? last + 1 : json_field;
        if (strncmp(json_field, "consents", 8) == 0)
                json_object_set_new(
                    b, "consents",
                    json_pack("{s:b}", "share_with_provider", 1));
        else if (strcmp(json_field, "person") == 0)
                set_path(b, "person.address", "x");
        else if (strcmp(json_field, "referrer") == 0)
                set_path(b, "referrer.phone", "07700900000");
        else if (strcmp(last, "email") == 0)
                set_path(b, json_field, "a@example.org");
        else if (strcmp(last, "phone") == 0)
                set_path(b, json_field, "07700900000");
        else if (strcmp(last, "postcode") == 0)
                set_path(b, json_field, "KT1 1EU");
        else
                set_path(b, json_field, "x");
}

/* find_errors: every problem the contract finds in b, not only the
 * first. Returns how many. */
static size_t
find_errors(const json_t *b, struct form_errors *es)
{
        json_t *probe = json_deep_copy(b);

        for (int i = 0; probe != NULL && i < MAX_ERRORS; i++) {
                struct err e = {0};

                if (gw_referral_check(probe, &e) == 0)
                        break;
                if (!errors_add(es, error_field(e.field), error_text(&e)) ||
                    e.kind != ERR_CONFLICT)
                        break; /* no progress, or a shape error */
                stand_in(probe, e.field);
        }
        json_decref(probe);
        return es->n;
}

static void
submit_form(struct gw_call *call, const struct gw_service *s, const char *kind,
            const struct gw_form *f)
{
        char id[UUID_STR_LEN], ref[GW_REFERENCE_LEN];
        char secret[GW_STATUS_SECRET_LEN];
        struct form_errors es = {0};
        struct err e = {0};
        json_t *b = to_json(s, kind, f);
        char *text = b ? jsonx_dump(b) : NULL;
        int st;

        if (text != NULL && find_errors(b, &es) > 0)
                st = 422;
        else
                st = text == NULL
                         ? 503
                         : gw_submit(call->g, b, "web", gw_form_get(f, "csrf"),
                                     text, strlen(text), id, ref, secret, &e);
        json_decref(b);
        free(text);
        if (st == 0) {
                confirmation(call, s, id, ref, secret);
                return;
        }
        if (st == 503)
                /* not confirmed is not "not sent" (the broker may still
                 * commit it); the form's key makes a resend safe */
                errors_add(&es, "person_name",
                           "Sorry, we could not confirm your referral just "
                           "now. Please send it again in a minute: it will "
                           "not be sent twice.");
        else if (es.n == 0)
                errors_add(&es, error_field(e.field), error_text(&e));
        render_form(call, st == 400 ? 400 : st, s, kind, f, &es);
}

void
gw_web_refer_post(struct gw_call *call)
{
        struct gw_form f = {0};
        struct gw_service s;

        if (!open_service(call, &s))
                return;
        if (gw_web_form_take(call, &f))
                submit_form(call, &s, kind_of(gw_form_get(&f, "kind")), &f);
        gw_form_fini(&f);
}
