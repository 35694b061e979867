/*
 * web: the resident pages (GOV.UK Design System markup, styles from the
 * govuk-frontend package, no JavaScript needed): search, a service, the
 * referral status, privacy, the page template and the static assets.
 * Directory data comes through forward.c as the public principal. Every
 * value is escaped by html.c. The referral form is in web_form.c.
 */
#include <curl/curl.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "gateway.h"
#include "log.h"

#define ASSET_MAX (2 * 1024 * 1024)

void
gw_web_page(struct gw_call *call, int status, const char *title,
            const char *main_html)
{
        struct gw_html h = {0};
        char *body;
        size_t len;

        gw_html_f(&h,
                  "<!DOCTYPE html>\n<html lang=\"en\" class=\"govuk-template\">"
                  "<head><meta charset=\"utf-8\"><title>%s - Signpost</title>"
                  "<meta name=\"viewport\" content=\"width=device-width, "
                  "initial-scale=1\"><link rel=\"stylesheet\" "
                  "href=\"/assets/govuk-frontend.min.css\"></head>"
                  "<body class=\"govuk-template__body\">"
                  "<a href=\"#main-content\" class=\"govuk-skip-link\">Skip "
                  "to main content</a>",
                  title);
        gw_html_raw(
            &h, "<header class=\"govuk-header\"><div class=\"govuk-header__"
                "container govuk-width-container\"><div class=\"govuk-header"
                "__content\"><a href=\"/\" class=\"govuk-header__link "
                "govuk-header__service-name\">Signpost: find local "
                "support</a></div></div></header>"
                "<div class=\"govuk-width-container\"><main class=\"govuk-"
                "main-wrapper\" id=\"main-content\">");
        gw_html_raw(&h, main_html);
        gw_html_raw(
            &h, "</main></div><footer class=\"govuk-footer\"><div "
                "class=\"govuk-width-container\"><div class=\"govuk-footer__"
                "meta\"><div class=\"govuk-footer__meta-item govuk-footer__"
                "meta-item--grow\"><h2 class=\"govuk-visually-hidden\">"
                "Support links</h2><ul class=\"govuk-footer__inline-list\">"
                "<li class=\"govuk-footer__inline-list-item\"><a class=\""
                "govuk-footer__link\" href=\"/privacy\">Privacy</a></li>"
                "</ul></div></div></div></footer></body></html>\n");
        body = gw_html_take(&h, &len);
        if (body == NULL) {
                http_resp_error(call->resp, 500, "internal", NULL,
                                "out of memory");
                return;
        }
        http_resp_take(call->resp, status, "text/html; charset=utf-8", body,
                       len);
}

void
gw_web_error(struct gw_call *call, int status, const char *title,
             const char *message)
{
        struct gw_html h = {0};
        char *m;

        gw_html_f(&h,
                  "<h1 class=\"govuk-heading-l\">%s</h1><p class=\"govuk-"
                  "body\">%s</p><p class=\"govuk-body\"><a class=\"govuk-"
                  "link\" href=\"/\">Search for support</a></p>",
                  title, message);
        m = gw_html_take(&h, NULL);
        gw_web_page(call, status, title, m ? m : "");
        free(m);
}

bool
gw_web_form_take(struct gw_call *call, struct gw_form *f)
{
        struct err e = {0};
        const char *hp;

        if (gw_form_parse(call->req->body, call->req->body_len, f, &e) < 0) {
                gw_web_error(call, 400, "Sorry, there is a problem",
                             "The form could not be read. Please try again.");
                return false;
        }
        if (!gw_csrf_check(call->g->token_key, gw_form_get(f, "csrf"),
                           (int64_t)time(NULL), GW_CSRF_MAX_AGE)) {
                gw_web_error(call, 403, "This form has expired",
                             "Please go back, reload the page and try again.");
                return false;
        }
        hp = gw_form_get(f, "website"); /* the honeypot */
        if (hp != NULL && *hp != '\0') {
                log_info("form honeypot filled", "request_id=%s",
                         call->req->request_id);
                gw_web_error(call, 400, "Sorry, there is a problem",
                             "The form could not be accepted.");
                return false;
        }
        return true;
}

/* reply_json: a directory answer as JSON (new), or NULL when the
 * directory could not be reached or did not answer JSON; *status its
 * HTTP status (0 when unreachable). */
static json_t *
reply_json(const struct gw_reply *r, int rc, long *status)
{
        *status = rc == 0 ? r->status : 0;
        if (rc != 0)
                return NULL;
        return json_loadb(r->body ? r->body : "", r->len, 0, NULL);
}

/* qadd: appends "&name=<urlencoded v>" to q (size qsz) when v is set. */
static void
qadd(char *q, size_t qsz, const char *name, const char *v)
{
        char *enc;
        size_t n = strlen(q);

        if (v == NULL || *v == '\0')
                return;
        enc = curl_easy_escape(NULL, v, 0);
        if (enc != NULL)
                snprintf(q + n, qsz - n, "%s%s=%s", n ? "&" : "", name, enc);
        curl_free(enc);
}

static void
search_form(struct gw_html *h, const char *q, const char *cat, const char *pc,
            const json_t *terms)
{
        json_t *v;
        size_t i;

        gw_html_f(h,
                  "<h1 class=\"govuk-heading-xl\">Find local support</h1>"
                  "<form method=\"get\" action=\"/\" novalidate>"
                  "<div class=\"govuk-form-group\"><label class=\"govuk-"
                  "label\" for=\"q\">What are you looking for?</label>"
                  "<input class=\"govuk-input\" id=\"q\" name=\"q\" "
                  "type=\"search\" value=\"%s\"></div>",
                  q ? q : "");
        gw_html_raw(h, "<div class=\"govuk-form-group\"><label class=\"govuk-"
                       "label\" for=\"category\">Category</label><select "
                       "class=\"govuk-select\" id=\"category\" "
                       "name=\"category\"><option value=\"\">Any</option>");
        json_array_foreach(json_object_get(terms, "contents"), i, v)
        {
                const char *id = json_string_value(json_object_get(v, "id"));
                bool sel = id != NULL && cat != NULL && strcmp(id, cat) == 0;

                gw_html_f(h, "<option value=\"%s\"%s>%s</option>", id ? id : "",
                          sel ? " selected" : "",
                          json_string_value(json_object_get(v, "name")));
        }
        gw_html_f(h,
                  "</select></div><div class=\"govuk-form-group\"><label "
                  "class=\"govuk-label\" for=\"postcode\">Postcode "
                  "(optional)</label><div class=\"govuk-hint\" "
                  "id=\"postcode-hint\">To list services near you first"
                  "</div><input class=\"govuk-input govuk-input--width-10\" "
                  "id=\"postcode\" name=\"postcode\" type=\"text\" "
                  "autocomplete=\"postal-code\" aria-describedby=\"postcode-"
                  "hint\" value=\"%s\"></div><button type=\"submit\" "
                  "class=\"govuk-button\">Search</button></form>",
                  pc ? pc : "");
}

static void
result_item(struct gw_html *h, const json_t *v)
{
        const char *id = json_string_value(json_object_get(v, "id"));
        const char *desc = json_string_value(json_object_get(v, "description"));
        const json_t *org = json_object_get(v, "organization");
        json_t *dist = json_object_get(v, "distance");

        if (id == NULL)
                return;
        gw_html_f(h,
                  "<li><h3 class=\"govuk-heading-s\"><a class=\"govuk-link\" "
                  "href=\"/services/%s\">%s</a></h3>",
                  id, json_string_value(json_object_get(v, "name")));
        if (org != NULL)
                gw_html_f(h, "<p class=\"govuk-body-s\">%s</p>",
                          json_string_value(json_object_get(org, "name")));
        if (json_is_number(dist))
                gw_html_f(h,
                          "<p class=\"govuk-body-s\">About %ld metres "
                          "away</p>",
                          (long)json_number_value(dist));
        if (desc != NULL)
                gw_html_f(h, "<p class=\"govuk-body\">%s</p>", desc);
        gw_html_raw(h, "</li>");
}

/* search_query: the directory query for the search page's results into
 * q (size qsz); false when the page asks for none. */
static bool
search_query(const struct http_req *req, char *q, size_t qsz)
{
        const char *text = http_req_query(req, "q");
        const char *cat = http_req_query(req, "category");
        const char *pc = http_req_query(req, "postcode");

        q[0] = '\0';
        if (!((text && *text) || (cat && *cat) || (pc && *pc)))
                return false;
        qadd(q, qsz, "search", text);
        qadd(q, qsz, "taxonomy_term_id", cat);
        qadd(q, qsz, "postcode", pc);
        if (pc != NULL && *pc != '\0')
                qadd(q, qsz, "sort", "distance");
        qadd(q, qsz, "per_page", "20");
        return true;
}

static void
results(struct gw_html *h, const json_t *page, long st)
{
        const json_t *v;
        size_t i;

        if (page == NULL) {
                gw_html_raw(h, "<div class=\"govuk-error-summary\" "
                               "role=\"alert\"><h2 class=\"govuk-error-"
                               "summary__title\">There is a problem</h2>"
                               "<div class=\"govuk-error-summary__body\">"
                               "<p>The directory is not available right now. "
                               "Please try again later.</p></div></div>");
                return;
        }
        if (st != 200) {
                gw_html_f(h,
                          "<div class=\"govuk-error-summary\" "
                          "role=\"alert\"><h2 class=\"govuk-error-"
                          "summary__title\">There is a problem</h2><div "
                          "class=\"govuk-error-summary__body\"><p>%s</p>"
                          "</div></div>",
                          json_string_value(json_object_get(
                              json_object_get(page, "error"), "message")));
                return;
        }
        gw_html_f(
            h,
            "<h2 class=\"govuk-heading-m\">%ld results</h2>"
            "<ul class=\"govuk-list\">",
            (long)json_integer_value(json_object_get(page, "total_items")));
        json_array_foreach(json_object_get(page, "contents"), i, v)
            result_item(h, v);
        gw_html_raw(h, "</ul>");
}

/* search_page: the search page once the directory answered: r[0] the
 * categories, r[1] the results (when asked for). */
static void
search_page(struct gw_call *call, struct gw_reply *r, const int *rc)
{
        char query[1024];
        struct gw_html h = {0};
        long st = 0;
        json_t *terms = reply_json(&r[0], rc[0], &st), *page;
        char *m;

        search_form(&h, http_req_query(call->req, "q"),
                    http_req_query(call->req, "category"),
                    http_req_query(call->req, "postcode"), terms);
        json_decref(terms);
        if (search_query(call->req, query, sizeof(query))) {
                page = reply_json(&r[1], rc[1], &st);
                results(&h, page, st);
                json_decref(page);
        }
        m = gw_html_take(&h, NULL);
        gw_web_page(call, 200, "Find local support", m ? m : "");
        free(m);
}

void
gw_web_search(struct gw_call *call)
{
        char query[1024];
        const char *paths[] = {"/taxonomy_terms", "/services"};
        const char *queries[] = {"top_only=true&per_page=100", query};
        size_t n = search_query(call->req, query, sizeof(query)) ? 2 : 1;

        gw_forward_fetch(call, call->g->set.directory_url, n, paths, queries,
                         search_page);
}

static void
service_body(struct gw_call *call, struct gw_html *h, const json_t *s)
{
        const char *id = json_string_value(json_object_get(s, "id"));
        const json_t *org = json_object_get(s, "organization");
        const char *url = json_string_value(json_object_get(s, "url"));
        struct gw_service cs;
        static const char *const kinds[][2] = {
            {"self", "Refer yourself"},
            {"on_behalf", "Refer someone else"},
            {"professional", "Refer as a professional"},
        };

        gw_html_f(h, "<h1 class=\"govuk-heading-xl\">%s</h1>",
                  json_string_value(json_object_get(s, "name")));
        if (org != NULL)
                gw_html_f(h, "<p class=\"govuk-body-l\">Run by %s</p>",
                          json_string_value(json_object_get(org, "name")));
        gw_html_f(h, "<p class=\"govuk-body\">%s</p>",
                  json_string_value(json_object_get(s, "description")));
        if (url != NULL)
                gw_html_f(h,
                          "<p class=\"govuk-body\"><a class=\"govuk-link\" "
                          "href=\"%s\" rel=\"noopener\">Website</a></p>",
                          strncmp(url, "http", 4) == 0 ? url : "#");
        if (id == NULL || !gw_catalogue_get(call->g->cat, id, &cs) ||
            !gw_service_open(&cs)) {
                gw_html_raw(h, "<p class=\"govuk-body\">This service is not "
                               "taking referrals through Signpost.</p>");
                return;
        }
        gw_html_raw(h, "<h2 class=\"govuk-heading-m\">Make a referral</h2>"
                       "<div class=\"govuk-button-group\">");
        for (size_t i = 0; i < 3; i++)
                gw_html_f(h,
                          "<a class=\"govuk-button govuk-button--secondary\" "
                          "href=\"/services/%s/refer?kind=%s\">%s</a>",
                          id, kinds[i][0], kinds[i][1]);
        gw_html_raw(h, "</div>");
}

/* service_page: the service page once the directory answered. */
static void
service_page(struct gw_call *call, struct gw_reply *r, const int *rc)
{
        struct gw_html h = {0};
        long st = 0;
        json_t *s = reply_json(&r[0], rc[0], &st);
        char *m;

        if (s == NULL || st != 200) {
                json_decref(s);
                if (st == 404)
                        gw_web_error(call, 404, "Page not found",
                                     "There is no such service.");
                else
                        gw_web_error(call, 503, "Sorry, there is a problem",
                                     "The directory is not available right "
                                     "now. Please try again later.");
                return;
        }
        service_body(call, &h, s);
        m = gw_html_take(&h, NULL);
        gw_web_page(call, 200, json_string_value(json_object_get(s, "name")),
                    m ? m : "");
        json_decref(s);
        free(m);
}

void
gw_web_service(struct gw_call *call)
{
        const char *id = http_req_param(call->req, "id");
        char path[64];
        const char *paths[] = {path}, *queries[] = {""};

        if (!uuid_valid(id)) {
                gw_web_error(call, 404, "Page not found",
                             "There is no such service.");
                return;
        }
        snprintf(path, sizeof(path), "/services/%s", id);
        gw_forward_fetch(call, call->g->set.directory_url, 1, paths, queries,
                         service_page);
}

static const char *
status_words(const char *st)
{
        if (strcmp(st, "with_provider") == 0)
                return "With the provider";
        if (strcmp(st, "contacted") == 0)
                return "The provider has been in touch";
        if (strcmp(st, "closed") == 0)
                return "Closed";
        return "Received";
}

void
gw_web_status(struct gw_call *call)
{
        const char *id = http_req_param(call->req, "id");
        const char *key = http_req_query(call->req, "key");
        struct gw_status st;
        struct gw_html h = {0};
        struct err e = {0};
        char *m;

        if (gw_status_read(call->g, id, key, &st, &e) < 0) {
                bool unknown = e.kind == ERR_NOT_FOUND;

                gw_web_error(call, unknown ? 404 : 503,
                             unknown ? "Referral not found"
                                     : "Sorry, there is a problem with the "
                                       "service",
                             unknown ? "We could not find that referral. Check "
                                       "that the link is complete."
                                     : "We cannot show your referral just now. "
                                       "Please try again in a few minutes.");
                return;
        }
        gw_html_f(&h,
                  "<h1 class=\"govuk-heading-l\">Your referral</h1><dl "
                  "class=\"govuk-summary-list\"><div class=\"govuk-summary-"
                  "list__row\"><dt class=\"govuk-summary-list__key\">"
                  "Reference</dt><dd class=\"govuk-summary-list__value\">%s"
                  "</dd></div><div class=\"govuk-summary-list__row\"><dt "
                  "class=\"govuk-summary-list__key\">Status</dt><dd "
                  "class=\"govuk-summary-list__value\" id=\"status\">%s</dd>"
                  "</div><div class=\"govuk-summary-list__row\"><dt "
                  "class=\"govuk-summary-list__key\">Last change</dt><dd "
                  "class=\"govuk-summary-list__value\">%s</dd></div></dl>",
                  st.reference, status_words(st.status), st.updated);
        gw_web_consent_form(call, &h, id, key);
        m = gw_html_take(&h, NULL);
        gw_web_page(call, 200, "Your referral", m ? m : "");
        free(m);
}

void
gw_web_privacy(struct gw_call *call)
{
        struct gw_html h = {0};
        char *m;

        gw_html_f(
            &h,
            "<h1 class=\"govuk-heading-xl\">Privacy</h1><p class=\"govuk-"
            "body\">Privacy notice version %s.</p>"
            "<h2 class=\"govuk-heading-m\">What we collect</h2><p class=\""
            "govuk-body\">When you make a referral we collect the details "
            "you give us: names, contact details, and anything you choose "
            "to tell the service about support needs.</p>"
            "<h2 class=\"govuk-heading-m\">Why</h2><p class=\"govuk-body\">"
            "To pass your referral to the service you chose, with your "
            "consent, so they can contact you about it. We only send "
            "feedback requests or notices of changed terms if you agreed "
            "to them.</p>"
            "<h2 class=\"govuk-heading-m\">Who sees it</h2><p class=\"govuk-"
            "body\">The organisation that runs the service you chose, and the "
            "council's administrators. The platform's supplier may see it "
            "only to fix a fault, and each time is recorded. Your details "
            "travel over an encrypted connection, are encrypted as soon as "
            "our server receives them, and stay encrypted while they are "
            "stored.</p>"
            "<h2 class=\"govuk-heading-m\">How long we keep it</h2><p "
            "class=\"govuk-body\">Only as long as the retention schedule "
            "allows.</p>"
            "<h2 class=\"govuk-heading-m\">Your choices</h2><p class=\"govuk-"
            "body\">You can withdraw your consent, or stop all contact from "
            "us, at any time from the status page linked in the "
            "confirmation of your referral. The service is then told, and "
            "no longer sees your details.</p>"
            "<h2 class=\"govuk-heading-m\">Your rights</h2><p class=\"govuk-"
            "body\">To see the data we hold about you, have it sent to you, "
            "have it corrected or deleted, or to restrict or object to its "
            "use, contact %s. We will answer within one month.</p>",
            call->g->set.privacy_notice_version, call->g->set.privacy_contact);
        m = gw_html_take(&h, NULL);
        gw_web_page(call, 200, "Privacy", m ? m : "");
        free(m);
}

static bool
safe_name(const char *s)
{
        if (s == NULL || *s == '\0' || *s == '.')
                return false;
        for (; *s; s++)
                if (strchr(
                        "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                        "0123456789-_.",
                        *s) == NULL)
                        return false;
        return true;
}

static const char *
mime(const char *name)
{
        static const char *const map[][2] = {
            {".css", "text/css; charset=utf-8"},
            {".js", "text/javascript; charset=utf-8"},
            {".woff2", "font/woff2"},
            {".woff", "font/woff"},
            {".svg", "image/svg+xml"},
            {".png", "image/png"},
            {".ico", "image/x-icon"},
        };
        size_t n = strlen(name);

        for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++) {
                size_t k = strlen(map[i][0]);
                if (n > k && strcmp(name + n - k, map[i][0]) == 0)
                        return map[i][1];
        }
        return NULL;
}

/* gw_web_asset: /assets/F from the package's dist/govuk, and
 * /assets/{fonts,images}/F from its dist/govuk/assets. */
void
gw_web_asset(struct gw_call *call)
{
        const char *dir = http_req_param(call->req, "dir");
        const char *file = http_req_param(call->req, "file");
        char path[1024], *buf = NULL;
        struct stat st;
        int fd = -1;

        if (!safe_name(file) || mime(file) == NULL ||
            (dir != NULL && strcmp(dir, "fonts") != 0 &&
             strcmp(dir, "images") != 0))
                goto missing;
        snprintf(path, sizeof(path), "%s/%s%s%s%s", call->g->set.assets_dir,
                 dir ? "assets/" : "", dir ? dir : "", dir ? "/" : "", file);
        fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) ||
            st.st_size > ASSET_MAX ||
            (buf = malloc((size_t)st.st_size + 1)) == NULL ||
            read(fd, buf, (size_t)st.st_size) != st.st_size)
                goto missing;
        close(fd);
        http_resp_take(call->resp, 200, mime(file), buf, (size_t)st.st_size);
        http_resp_header(call->resp, "Cache-Control", "public, max-age=3600");
        return;
missing:
        if (fd >= 0)
                close(fd);
        free(buf);
        http_resp_error(call->resp, 404, "not_found", NULL, "no such asset");
}
