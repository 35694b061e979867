/*
 * test_routes: the gateway's route table against the two things that must
 * match it: the authorisation matrix (every role against every route,
 * through real HTTP, with fake intake and directory daemons that check
 * the signed principal) and the OpenAPI document (every route served is
 * documented, every documented operation is served). Needs the test
 * PostgreSQL (tokens) and Kafka (audit events, submissions).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <curl/curl.h>

#include "../gateway.h"
#include "audit.h"
#include "testdb.h"
#include "testenv.h"
#include "testhttp.h"

#define ORG "6f0c6c3e-2f7a-4d6b-9a57-0c1f0e7a0001"
#define RID "01a20b30-286b-718a-b023-b4f988210c62"

enum caller { NONE, PROVIDER, ADMIN, SUPPORT, FORGED, NCALLERS };

static struct gw g;
static struct http_server *srv, *upstream;
static char base[64], tokens[NCALLERS][SECRET_TOKEN_LEN];
static struct secret_key *pkey;

/* ---- a fake daemon: answers with the principal it verified, and names
 * the records it returned as intake and consent do (the path's id or
 * subject, else RID); ?records=omit leaves that out, ?records=bad names
 * something else ---- */
static void
echo(struct http_req *req, struct http_resp *resp)
{
        const struct http_principal *p = req->principal;
        const char *id = http_req_param(req, "id");
        const char *subject = http_req_param(req, "subject");
        const char *records = http_req_query(req, "records");

        http_resp_json(resp, 200,
                       json_pack("{s:s, s:s, s:s, s:s?, s:[{s:s}]}", "name",
                                 "Fake", "role", http_role_name(p->role), "org",
                                 p->org, "referral_id", id, "items",
                                 "referral_id", RID));
        if (records != NULL && strcmp(records, "omit") == 0)
                return;
        http_resp_header(resp, AUDIT_RECORDS_HEADER,
                         records != NULL && strcmp(records, "bad") == 0 ? RID
                             ",items"
                         : id      ? id
                         : subject ? subject
                                   : RID);
}

static struct http_route up_routes[64];

static void
upstream_start(void)
{
        const struct gw_route *r = gw_routes();
        size_t n = 0;
        char *pat;

        for (; r->method != NULL; r++) {
                if (r->upstream == NULL)
                        continue;
                pat = strdup(r->pattern + strlen(r->upstream_path));
                if (*pat == '\0') {
                        free(pat);
                        pat = strdup("/");
                }
                up_routes[n++] = (struct http_route){"GET", pat, echo, 0};
        }
        up_routes[n++] = (struct http_route){"GET", "/taxonomy_terms", echo, 0};
        struct http_opts o = {.principal_key = pkey->bytes};
        upstream = http_server_start("127.0.0.1:0", up_routes, NULL, &o, NULL);
        assert_non_null(upstream);
}

static void
write_file(const char *path, const char *text, mode_t mode)
{
        FILE *f = fopen(path, "w");

        assert_non_null(f);
        fputs(text, f);
        fclose(f);
        chmod(path, mode);
}

static void
keys(char paths[3][512])
{
        unsigned char pk[SECRET_BOX_PK_BYTES];
        struct secret_key *sk = NULL;
        char *b64;

        for (int i = 0; i < 3; i++) {
                snprintf(paths[i], 512, "%s/gw-routes-%d-%d.key", testenv_tmp(),
                         (int)getpid(), i);
                unlink(paths[i]);
        }
        assert_int_equal(secret_key_file_new(paths[0], 32, NULL), 0);
        assert_int_equal(secret_key_file_new(paths[1], 32, NULL), 0);
        secret_box_keypair(pk, &sk, NULL);
        b64 = secret_b64_encode(pk, sizeof(pk));
        write_file(paths[2], b64, 0644);
        free(b64);
        secret_key_free(sk);
        secret_key_load(paths[0], 32, NULL, &pkey, NULL);
}

static void
token(struct db *db, enum caller c, const char *role, const char *org,
      const char *expires, bool revoked)
{
        char hash[SECRET_HEX_LEN], id[UUID_STR_LEN];
        const char *p[6];

        secret_token_new(tokens[c], NULL);
        secret_token_hash(g.token_key, tokens[c], hash, NULL);
        uuid_v4(id);
        p[0] = id, p[1] = hash, p[2] = role, p[3] = org, p[4] = expires;
        p[5] = revoked ? "t" : "f";
        assert_int_equal(
            db_exec(db,
                    "INSERT INTO gateway.api_tokens (id, token_hash, role, org,"
                    " reason_required, expires_at, revoked_at) VALUES ($1, $2,"
                    " $3, $4, $3 = 'support', $5::timestamptz,"
                    " CASE WHEN $6::bool THEN now() END)",
                    6, p, NULL, NULL),
            0);
}

static int
setup(void **state)
{
        static char conninfo[1024], paths[3][512], upurl[64];
        struct gw_settings set = {0};
        struct db *db;
        struct err e = {0};

        (void)state;
        curl_global_init(CURL_GLOBAL_DEFAULT);
        if (testenv_kafka() == NULL ||
            (db = testdb_migrated("gw_routes", GW_SCHEMA,
                                  "services/gateway/migrations", conninfo,
                                  sizeof(conninfo))) == NULL)
                return -1;
        keys(paths);
        upstream_start();
        snprintf(upurl, sizeof(upurl), "http://127.0.0.1:%u",
                 http_server_port(upstream));
        set = (struct gw_settings){
            .db = conninfo,
            .kafka = testenv_kafka(),
            .intake_url = upurl,
            .directory_url = upurl,
            .consent_url = upurl,
            .principal_key_file = paths[0],
            .token_key_file = paths[1],
            .intake_pk_file = paths[2],
            .reporting_pk_file = paths[2],
            .openapi_file = "docs/api/gateway.openapi.json",
            .assets_dir = "node_modules/govuk-frontend/dist/govuk",
            .privacy_notice_version = "test",
            .privacy_contact = "privacy@council.example",
            .produce_timeout_ms = 5000,
            .db_pool = 2};
        if (gw_init(&g, &set, &e) < 0)
                return fprintf(stderr, "gw_init: %s\n", e.msg), -1;
        token(db, PROVIDER, "provider", ORG, NULL, false);
        token(db, ADMIN, "admin", NULL, NULL, false);
        token(db, SUPPORT, "support", NULL, "2999-01-01", false);
        snprintf(tokens[FORGED], sizeof(tokens[FORGED]), "sp_%043d", 0);
        db_free(db);
        struct http_opts o = {.max_body = GW_MAX_BODY,
                              .headers = gw_server_headers(false)};
        srv = http_server_start("127.0.0.1:0", gw_http_routes(), &g, &o, &e);
        snprintf(base, sizeof(base), "http://127.0.0.1:%u",
                 http_server_port(srv));
        return srv == NULL ? -1 : 0;
}

static int
teardown(void **state)
{
        (void)state;
        http_server_stop(srv);
        http_server_stop(upstream);
        gw_fini(&g);
        secret_key_free(pkey);
        return 0;
}

static long
call(enum caller c, const char *method, const char *path,
     struct testhttp_reply *r)
{
        char auth[128];
        const char *hdrs[4] = {"Content-Type: application/json", NULL, NULL,
                               NULL};

        if (c != NONE) {
                snprintf(auth, sizeof(auth), "Authorization: Bearer %s",
                         tokens[c]);
                hdrs[1] = auth;
        }
        if (c == SUPPORT)
                hdrs[2] = "X-Signpost-Reason: ticket 42 diagnosis";
        return testhttp_request(base, method, path, hdrs,
                                strcmp(method, "POST") == 0 ? "{}" : NULL,
                                strcmp(method, "POST") == 0 ? 2 : 0, r);
}

/* The matrix: each route (by pattern) with a concrete path and the status
 * each caller gets: none, provider, admin, support (with reason), forged. */
struct row {
        const char *method, *pattern, *path;
        int want[NCALLERS];
};
#define PUB(code)                                                              \
        {                                                                      \
                code, code, code, code, 401                                    \
        }
static const struct row matrix[] = {
    {"POST", "/v1/referrals", "/v1/referrals", PUB(422)},
    {"GET", "/v1/referrals", "/v1/referrals", {401, 200, 200, 200, 401}},
    {"GET",
     "/v1/referrals/{id}",
     "/v1/referrals/" RID,
     {401, 200, 200, 200, 401}},
    {"GET", "/v1/referrals/{id}/status", "/v1/referrals/" RID "/status",
     PUB(404)},
    {"POST",
     "/v1/referrals/{id}/status",
     "/v1/referrals/" RID "/status",
     {401, 422, 422, 403, 401}},
    {"POST", "/v1/referrals/{id}/consents", "/v1/referrals/" RID "/consents",
     PUB(404)},
    {"POST", "/v1/consents", "/v1/consents", {401, 403, 422, 403, 401}},
    {"GET",
     "/v1/consents/{subject}",
     "/v1/consents/" RID,
     {401, 403, 200, 403, 401}},
    {"GET",
     "/v1/admin/update_requests",
     "/v1/admin/update_requests",
     {401, 403, 200, 403, 401}},
    {"GET",
     "/v1/admin/update_requests/{id}",
     "/v1/admin/update_requests/" RID,
     {401, 403, 200, 403, 401}},
    {"GET", "/openapi.json", "/openapi.json", PUB(200)},
    {"GET", "/oruk", "/oruk", PUB(200)},
    {"GET", "/oruk/services", "/oruk/services?search=debt", PUB(200)},
    {"GET", "/oruk/services/{id}", "/oruk/services/" RID, PUB(200)},
    {"GET", "/oruk/service_at_locations", "/oruk/service_at_locations",
     PUB(200)},
    {"GET", "/oruk/service_at_locations/{id}",
     "/oruk/service_at_locations/" RID, PUB(200)},
    {"GET", "/oruk/organizations", "/oruk/organizations", PUB(200)},
    {"GET", "/oruk/organizations/{id}", "/oruk/organizations/" RID, PUB(200)},
    {"GET", "/oruk/taxonomies", "/oruk/taxonomies", PUB(200)},
    {"GET", "/oruk/taxonomies/{id}", "/oruk/taxonomies/" RID, PUB(200)},
    {"GET", "/oruk/taxonomy_terms", "/oruk/taxonomy_terms", PUB(200)},
    {"GET", "/oruk/taxonomy_terms/{id}", "/oruk/taxonomy_terms/" RID, PUB(200)},
    {"GET", "/oruk/nearest", "/oruk/nearest", PUB(200)},
    {"OPTIONS", "/oruk", "/oruk", PUB(204)},
    {"OPTIONS", "/oruk/services", "/oruk/services", PUB(204)},
    {"OPTIONS", "/oruk/services/{id}", "/oruk/services/" RID, PUB(204)},
    {"OPTIONS", "/oruk/service_at_locations", "/oruk/service_at_locations",
     PUB(204)},
    {"OPTIONS", "/oruk/service_at_locations/{id}",
     "/oruk/service_at_locations/" RID, PUB(204)},
    {"OPTIONS", "/oruk/organizations", "/oruk/organizations", PUB(204)},
    {"OPTIONS", "/oruk/organizations/{id}", "/oruk/organizations/" RID,
     PUB(204)},
    {"OPTIONS", "/oruk/taxonomies", "/oruk/taxonomies", PUB(204)},
    {"OPTIONS", "/oruk/taxonomies/{id}", "/oruk/taxonomies/" RID, PUB(204)},
    {"OPTIONS", "/oruk/taxonomy_terms", "/oruk/taxonomy_terms", PUB(204)},
    {"OPTIONS", "/oruk/taxonomy_terms/{id}", "/oruk/taxonomy_terms/" RID,
     PUB(204)},
    {"OPTIONS", "/oruk/nearest", "/oruk/nearest", PUB(204)},
    {"GET", "/", "/?q=debt", PUB(200)},
    {"GET", "/services/{id}", "/services/" RID, PUB(200)},
    {"GET", "/services/{id}/refer", "/services/" RID "/refer", PUB(404)},
    {"POST", "/services/{id}/refer", "/services/" RID "/refer", PUB(404)},
    {"GET", "/status/{id}", "/status/" RID, PUB(404)},
    {"POST", "/status/{id}/consent", "/status/" RID "/consent", PUB(403)},
    {"GET", "/privacy", "/privacy", PUB(200)},
    {"GET", "/assets/{file}", "/assets/govuk-frontend.min.css", PUB(200)},
    {"GET", "/assets/{dir}/{file}", "/assets/fonts/bold-b542beb274-v2.woff2",
     PUB(200)},
};
#define NROWS (sizeof(matrix) / sizeof(matrix[0]))

static const char *const caller_names[] = {"none", "provider", "admin",
                                           "support", "forged"};

static void
test_authorisation_matrix(void **state)
{
        static struct testhttp_reply r;
        int failures = 0;

        (void)state;
        for (size_t i = 0; i < NROWS; i++)
                for (int c = 0; c < NCALLERS; c++) {
                        long st = call(c, matrix[i].method, matrix[i].path, &r);
                        if (st != matrix[i].want[c]) {
                                fprintf(stderr, "%s %s as %s: %ld, want %d\n",
                                        matrix[i].method, matrix[i].path,
                                        caller_names[c], st, matrix[i].want[c]);
                                failures++;
                        }
                }
        assert_int_equal(failures, 0);
}

static void
test_matrix_covers_every_route(void **state)
{
        (void)state;
        for (const struct gw_route *r = gw_routes(); r->method; r++) {
                bool found = false;
                for (size_t i = 0; i < NROWS && !found; i++)
                        found = strcmp(matrix[i].method, r->method) == 0 &&
                                strcmp(matrix[i].pattern, r->pattern) == 0;
                if (!found)
                        fprintf(stderr, "no matrix row for %s %s\n", r->method,
                                r->pattern);
                assert_true(found);
        }
}

static void
test_support_needs_a_reason(void **state)
{
        static struct testhttp_reply r;
        char auth[128];
        const char *hdrs[2] = {auth, NULL};

        (void)state;
        snprintf(auth, sizeof(auth), "Authorization: Bearer %s",
                 tokens[SUPPORT]);
        assert_int_equal(
            testhttp_request(base, "GET", "/v1/referrals", hdrs, NULL, 0, &r),
            400);
        assert_non_null(strstr(r.body, "X-Signpost-Reason"));
}

static void
test_forwarded_principal_carries_role_and_org(void **state)
{
        static struct testhttp_reply r;
        json_t *j;

        (void)state;
        assert_int_equal(call(PROVIDER, "GET", "/v1/referrals/" RID, &r), 200);
        j = json_loads(r.body, 0, NULL);
        assert_string_equal(json_string_value(json_object_get(j, "role")),
                            "provider");
        assert_string_equal(json_string_value(json_object_get(j, "org")), ORG);
        json_decref(j);
        assert_int_equal(call(NONE, "GET", "/oruk/services", &r), 200);
        assert_non_null(strstr(r.body, "\"role\":\"public\""));
}

/* ---- reads of personal data are audited: the route table against
 * what is known to return personal data ---- */

/* The gateway's routes that return personal data. Every route forwarded
 * to a daemon that holds personal data (personal_daemons) counts too,
 * listed or not, so a new one cannot slip in unaudited. */
static const char *const personal_routes[][2] = {
    {"GET", "/v1/referrals"},
    {"GET", "/v1/referrals/{id}"},
    {"GET", "/v1/consents/{subject}"},
};
#define NPERSONAL (sizeof(personal_routes) / sizeof(personal_routes[0]))
static const char *const personal_daemons[] = {"intake", "consent", NULL};

static bool
returns_personal_data(const struct gw_route *r)
{
        for (size_t i = 0; i < NPERSONAL; i++)
                if (strcmp(personal_routes[i][0], r->method) == 0 &&
                    strcmp(personal_routes[i][1], r->pattern) == 0)
                        return true;
        for (size_t i = 0; r->upstream != NULL && personal_daemons[i]; i++)
                if (strcmp(personal_daemons[i], r->upstream) == 0)
                        return true;
        return false;
}

static void
test_every_route_returning_personal_data_is_audited(void **state)
{
        int failures = 0;

        (void)state;
        for (const struct gw_route *r = gw_routes(); r->method; r++) {
                bool personal = returns_personal_data(r);
                bool audited = (r->flags & GW_F_AUDIT) != 0;

                /* only the forwarder audits what a daemon returned */
                if (personal && (!audited || r->fn != gw_forward_handler ||
                                 r->upstream == NULL)) {
                        fprintf(stderr,
                                "%s %s returns personal data but is not an "
                                "audited forwarded read\n",
                                r->method, r->pattern);
                        failures++;
                }
                if (audited && !personal) {
                        fprintf(stderr,
                                "%s %s is audited but not listed as returning "
                                "personal data\n",
                                r->method, r->pattern);
                        failures++;
                }
        }
        /* and the list names only routes that exist */
        for (size_t i = 0; i < NPERSONAL; i++) {
                bool found = false;
                for (const struct gw_route *r = gw_routes(); r->method; r++)
                        found =
                            found ||
                            (strcmp(personal_routes[i][0], r->method) == 0 &&
                             strcmp(personal_routes[i][1], r->pattern) == 0);
                if (!found) {
                        fprintf(stderr, "no route %s %s\n",
                                personal_routes[i][0], personal_routes[i][1]);
                        failures++;
                }
        }
        assert_int_equal(failures, 0);
}

/* path_of: the matrix's concrete path for route r. */
static const char *
path_of(const struct gw_route *r)
{
        for (size_t i = 0; i < NROWS; i++)
                if (strcmp(matrix[i].method, r->method) == 0 &&
                    strcmp(matrix[i].pattern, r->pattern) == 0)
                        return matrix[i].path;
        return NULL;
}

/* Every audited route fails closed: an answer that does not say which
 * records it returned, or names something that is not an id, is not
 * shown (503); one that says is shown without the header. */
static void
test_an_audited_read_that_does_not_name_its_records_is_refused(void **state)
{
        static struct testhttp_reply r;
        char path[256], v[256];
        int n = 0;

        (void)state;
        for (const struct gw_route *rt = gw_routes(); rt->method; rt++) {
                if (!(rt->flags & GW_F_AUDIT))
                        continue;
                assert_non_null(path_of(rt));
                n++;
                assert_int_equal(call(ADMIN, "GET", path_of(rt), &r), 200);
                assert_null(
                    testhttp_header(&r, AUDIT_RECORDS_HEADER, v, sizeof(v)));
                snprintf(path, sizeof(path), "%s?records=omit", path_of(rt));
                if (call(ADMIN, "GET", path, &r) != 503)
                        fprintf(stderr, "%s shown unaudited: %ld\n", path,
                                r.status);
                assert_int_equal(r.status, 503);
                snprintf(path, sizeof(path), "%s?records=bad", path_of(rt));
                assert_int_equal(call(ADMIN, "GET", path, &r), 503);
        }
        assert_int_equal(n, 3);
        /* nor does the header leave on a route that is not audited */
        assert_int_equal(call(NONE, "GET", "/oruk/services", &r), 200);
        assert_null(testhttp_header(&r, AUDIT_RECORDS_HEADER, v, sizeof(v)));
}

static void
test_openapi_documents_every_route_and_no_other(void **state)
{
        json_t *doc = json_load_file("docs/api/gateway.openapi.json", 0, NULL);
        json_t *paths = json_object_get(doc, "paths"), *ops, *op;
        const char *path, *m;
        char lower[8];

        (void)state;
        assert_non_null(paths);
        for (const struct gw_route *r = gw_routes(); r->method; r++) {
                size_t i;
                for (i = 0; i < sizeof(lower) - 1 && r->method[i]; i++)
                        lower[i] = (char)(r->method[i] | 0x20);
                lower[i] = '\0';
                if (json_object_get(json_object_get(paths, r->pattern),
                                    lower) == NULL)
                        fprintf(stderr, "undocumented: %s %s\n", r->method,
                                r->pattern);
                assert_non_null(
                    json_object_get(json_object_get(paths, r->pattern), lower));
        }
        json_object_foreach(paths, path, ops)
        {
                json_object_foreach(ops, m, op)
                {
                        bool served = false;
                        for (const struct gw_route *r = gw_routes();
                             r->method && !served; r++)
                                served = strcmp(r->pattern, path) == 0 &&
                                         strcasecmp(r->method, m) == 0;
                        if (!served)
                                fprintf(stderr,
                                        "documented, not served: %s "
                                        "%s\n",
                                        m, path);
                        assert_true(served);
                }
        }
        json_decref(doc);
}

static void
test_cors_preflight_lets_any_origin_read_oruk(void **state)
{
        static struct testhttp_reply r;
        const char *hdrs[] = {"Origin: https://partner.example",
                              "Access-Control-Request-Method: GET", NULL};
        char v[256];

        (void)state;
        assert_int_equal(testhttp_request(base, "OPTIONS", "/oruk/services",
                                          hdrs, NULL, 0, &r),
                         204);
        assert_string_equal(
            testhttp_header(&r, "Access-Control-Allow-Origin", v, sizeof(v)),
            "*");
        assert_non_null(strstr(
            testhttp_header(&r, "Access-Control-Allow-Methods", v, sizeof(v)),
            "GET"));
        assert_int_equal(r.len, 0);
        /* the JSON API is not offered to other origins */
        assert_int_equal(testhttp_request(base, "OPTIONS", "/v1/referrals",
                                          hdrs, NULL, 0, &r),
                         405);
        assert_null(
            testhttp_header(&r, "Access-Control-Allow-Origin", v, sizeof(v)));
}

/* lib/http's own answers (404, 405, 413) carry the gateway's security
 * headers too; pages get the page policy instead of the API's. */
static void
test_security_headers_on_every_answer(void **state)
{
        static struct testhttp_reply r;
        static char big[GW_MAX_BODY + 10];
        char v[256];

        (void)state;
        memset(big, 'x', sizeof(big));
        assert_int_equal(
            testhttp_request(base, "GET", "/nope", NULL, NULL, 0, &r), 404);
        assert_string_equal(
            testhttp_header(&r, "Content-Security-Policy", v, sizeof(v)),
            "default-src 'none'; frame-ancestors 'none'");
        assert_string_equal(
            testhttp_header(&r, "Referrer-Policy", v, sizeof(v)),
            "no-referrer");
        assert_null(
            testhttp_header(&r, "Strict-Transport-Security", v, sizeof(v)));
        assert_int_equal(
            testhttp_request(base, "DELETE", "/privacy", NULL, NULL, 0, &r),
            405);
        assert_non_null(
            testhttp_header(&r, "Content-Security-Policy", v, sizeof(v)));
        assert_int_equal(testhttp_request(base, "POST", "/v1/referrals", NULL,
                                          big, sizeof(big), &r),
                         413);
        assert_non_null(testhttp_header(&r, "Referrer-Policy", v, sizeof(v)));
        assert_int_equal(
            testhttp_request(base, "GET", "/privacy", NULL, NULL, 0, &r), 200);
        assert_non_null(
            strstr(testhttp_header(&r, "Content-Security-Policy", v, sizeof(v)),
                   "default-src 'self'"));
        assert_non_null(
            testhttp_header(&r, "X-Content-Type-Options", v, sizeof(v)));
        assert_non_null(
            strstr(gw_server_headers(true)[6], "Strict-Transport-Security"));
}

/* The privacy page says only what is true today: sealed on the server,
 * not "before it leaves this page"; who to contact for the rights the
 * platform does not answer itself yet. */
static void
test_privacy_page_says_what_is_true(void **state)
{
        static struct testhttp_reply r;

        (void)state;
        assert_int_equal(
            testhttp_request(base, "GET", "/privacy", NULL, NULL, 0, &r), 200);
        assert_null(strstr(r.body, "before they leave this page"));
        assert_non_null(strstr(r.body, "as soon as our server receives them"));
        assert_non_null(strstr(r.body, "contact privacy@council.example"));
        assert_non_null(strstr(r.body, "within one month"));
}

/* The referral API answers 202 only once Kafka acknowledged (the answer
 * is deferred, not waited for on an HTTP thread); concurrent submissions
 * each get their own id. */
static void
test_referral_is_answered_after_kafka_ack(void **state)
{
        static struct testhttp_reply r;
        const char *hdrs[] = {"Content-Type: application/json", NULL};
        struct gw_service svc = {.id = "6f0c6c3e-2f7a-4d6b-9a57-0c1f0e7a0010",
                                 .org = ORG,
                                 .status = "active",
                                 .accepts_referrals = true,
                                 .name = "Debt advice"};
        const char *body =
            "{\"service_id\":\"6f0c6c3e-2f7a-4d6b-9a57-0c1f0e7a0010\","
            "\"kind\":\"self\",\"person\":{\"name\":\"Ann\","
            "\"phone\":\"07700 900123\"},\"consents\":"
            "{\"share_with_provider\":true}}";
        char loc[256], first[64] = "";
        json_t *j;

        (void)state;
        assert_int_equal(gw_catalogue_put(g.cat, &svc), 0);
        for (int i = 0; i < 2; i++) {
                assert_int_equal(testhttp_request(base, "POST", "/v1/referrals",
                                                  hdrs, body, strlen(body), &r),
                                 202);
                j = json_loads(r.body, 0, NULL);
                assert_true(gw_reference_valid(
                    json_string_value(json_object_get(j, "reference"))));
                assert_non_null(
                    testhttp_header(&r, "Location", loc, sizeof(loc)));
                assert_non_null(
                    strstr(loc, json_string_value(json_object_get(j, "id"))));
                assert_string_not_equal(
                    first, json_string_value(json_object_get(j, "id")));
                snprintf(first, sizeof(first), "%s",
                         json_string_value(json_object_get(j, "id")));
                assert_string_equal(
                    testhttp_header(&r, "Cache-Control", loc, sizeof(loc)),
                    "no-store");
                assert_non_null(testhttp_header(&r, "Content-Security-Policy",
                                                loc, sizeof(loc)));
                json_decref(j);
        }
}

int
main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_authorisation_matrix),
            cmocka_unit_test(test_matrix_covers_every_route),
            cmocka_unit_test(
                test_every_route_returning_personal_data_is_audited),
            cmocka_unit_test(
                test_an_audited_read_that_does_not_name_its_records_is_refused),
            cmocka_unit_test(test_support_needs_a_reason),
            cmocka_unit_test(test_privacy_page_says_what_is_true),
            cmocka_unit_test(test_forwarded_principal_carries_role_and_org),
            cmocka_unit_test(test_openapi_documents_every_route_and_no_other),
            cmocka_unit_test(test_cors_preflight_lets_any_origin_read_oruk),
            cmocka_unit_test(test_security_headers_on_every_answer),
            cmocka_unit_test(test_referral_is_answered_after_kafka_ack),
        };
        return cmocka_run_group_tests(tests, setup, teardown);
}
