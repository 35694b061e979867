/*
 * test_sender: the notification pipeline against a real PostgreSQL:
 * requests recorded as the consumer records them, the sender delivering
 * through the spool and through SMTP to a loopback sink in this process,
 * consent decided at send time, failures recorded with reasons, crash
 * recovery without a second delivery, retries, and one-time codes.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "../notification.h"
#include "testdb.h"
#include "testenv.h"

#define SERVICE "0193b000-0000-7000-8000-0000000000c1"
#define ORG "0193b000-0000-7000-8000-0000000000d1"

static struct db *db;
static struct notify_ctx ctx;
static char spool[512];

/* ---- a loopback SMTP sink ---- */

static struct {
        int fd, port;
        pthread_t thread;
        atomic_int count;
        char last[8192];
} sink;

static void
sink_session(int c)
{
        FILE *f = fdopen(c, "r+");
        char line[1024];
        bool data = false;
        size_t len = 0;

        fputs("220 sink\r\n", f);
        fflush(f);
        while (fgets(line, sizeof(line), f) != NULL) {
                if (data) {
                        if (strcmp(line, ".\r\n") == 0) {
                                data = false;
                                atomic_fetch_add(&sink.count, 1);
                                // cppcheck-suppress IOWithoutPositioning
                                fputs("250 queued\r\n", f);
                        } else if (len + strlen(line) < sizeof(sink.last)) {
                                memcpy(sink.last + len, line, strlen(line));
                                len += strlen(line);
                                sink.last[len] = '\0';
                        }
                } else if (strncmp(line, "DATA", 4) == 0) {
                        data = true;
                        len = 0;
                        fputs("354 go\r\n", f);
                } else if (strncmp(line, "QUIT", 4) == 0) {
                        fputs("221 bye\r\n", f);
                        break;
                } else
                        fputs("250 ok\r\n", f);
                fflush(f);
        }
        fclose(f);
}

static void *
sink_main(void *arg)
{
        int c;

        (void)arg;
        while ((c = accept(sink.fd, NULL, NULL)) >= 0)
                sink_session(c);
        return NULL;
}

static void
sink_start(void)
{
        struct sockaddr_in a = {.sin_family = AF_INET};
        socklen_t alen = sizeof(a);

        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        sink.fd = socket(AF_INET, SOCK_STREAM, 0);
        assert_int_equal(bind(sink.fd, (struct sockaddr *)&a, sizeof(a)), 0);
        assert_int_equal(listen(sink.fd, 8), 0);
        getsockname(sink.fd, (struct sockaddr *)&a, &alen);
        sink.port = ntohs(a.sin_port);
        pthread_create(&sink.thread, NULL, sink_main, NULL);
}

/* ---- helpers ---- */

static char *
seal(const char *addr_field, const char *addr, json_t *values)
{
        json_t *j = json_pack("{s:s, s:o}", addr_field, addr, "values",
                              values ? values : json_object());
        char *text = json_dumps(j, JSON_COMPACT), *b64;
        unsigned char *box = NULL;
        size_t len = 0;

        assert_int_equal(secret_seal(ctx.box_pk, (unsigned char *)text,
                                     strlen(text), &box, &len, NULL),
                         0);
        b64 = secret_b64_encode(box, len);
        free(text);
        free(box);
        json_decref(j);
        return b64;
}

static enum err_kind
apply(const char *topic, const char *type, const char *key, json_t *data)
{
        struct kafka_record rec = {0};
        struct err e = {0};
        char *text = data ? json_dumps(data, JSON_COMPACT) : NULL;
        int rc;

        rec.topic = topic;
        snprintf(rec.ev.type, sizeof(rec.ev.type), "%s", type);
        uuid_v7(rec.ev.id);
        rec.key = key;
        rec.key_len = key ? strlen(key) : 0;
        rec.value = text;
        rec.value_len = text ? strlen(text) : 0;
        assert_int_equal(db_begin(db, &e), 0);
        rc = notify_requests_apply(&ctx, db, &rec, &e);
        if (rc == 0)
                assert_int_equal(db_commit(db, &e), 0);
        else
                db_rollback(db);
        free(text);
        json_decref(data);
        return rc == 0 ? ERR_NONE : e.kind;
}

/* request: a notification request for template to audience; returns the
 * new message id in id. values are taken. */
static void
request(char id[UUID_STR_LEN], const char *tpl, const char *audience,
        const char *subject, const char *purpose, json_t *values)
{
        char *sealed = seal("email", "person@example.org", values);
        json_t *r;

        uuid_v7(id);
        r = json_pack("{s:s, s:s, s:s, s:s, s:s}", "message_id", id, "template",
                      tpl, "audience", audience, "service_id", SERVICE,
                      "sealed", sealed);
        if (subject)
                json_object_set_new(r, "subject_id", json_string(subject));
        if (purpose)
                json_object_set_new(r, "purpose", json_string(purpose));
        free(sealed);
        assert_int_equal(
            apply(NOTIFY_TOPIC_REQUESTS, NOTIFY_TYPE_REQUESTED, id, r),
            ERR_NONE);
}

static void
consent(const char *subject, const char *purpose, const char *standing, int seq)
{
        json_t *s = json_pack("{s:s, s:{}, s:b, s:i, s:s}", "subject_id",
                              subject, "purposes", "opted_out", 0, "seq", seq,
                              "updated_at", "2026-11-24T10:00:00Z");

        if (purpose)
                json_object_set_new(json_object_get(s, "purposes"), purpose,
                                    json_string(standing));
        assert_int_equal(apply(NOTIFY_TOPIC_CONSENT,
                               "signpost.consent.state.v1", subject, s),
                         ERR_NONE);
}

static char *
field(const char *id, const char *col)
{
        char sql[256];
        const char *p[1] = {id};
        PGresult *r;
        char *v;

        snprintf(sql, sizeof(sql),
                 "SELECT coalesce(%s::text, '<null>') FROM message WHERE"
                 " message_id = $1",
                 col);
        r = db_query(db, sql, 1, p, NULL);
        assert_non_null(r);
        assert_int_equal(PQntuples(r), 1);
        v = strdup(PQgetvalue(r, 0, 0));
        PQclear(r);
        return v;
}

static void
assert_field(const char *id, const char *col, const char *want)
{
        char *v = field(id, col);

        if (strcmp(v, want) != 0)
                fprintf(stderr, "%s.%s = %s (want %s)\n", id, col, v, want);
        assert_string_equal(v, want);
        free(v);
}

static long
count(const char *sql, const char *arg)
{
        return testdb_count(db, sql, arg);
}

static void
run_sender(void)
{
        struct err e = {0};

        while (notify_sender_once(&ctx, db, &e) > 0)
                ;
        assert_int_equal(e.kind, ERR_NONE);
}

static bool
spooled(const char *id, char *text, size_t sz)
{
        char path[1024];
        FILE *f;
        size_t n;

        snprintf(path, sizeof(path), "%s/%s.eml", spool, id);
        f = fopen(path, "r");
        if (f == NULL)
                return false;
        n = fread(text, 1, sz - 1, f);
        text[n] = '\0';
        fclose(f);
        return true;
}

static json_t *
ref(void)
{
        return json_pack("{s:s}", "reference", "SP-7KQ2-M4XD");
}

/* ---- tests ---- */

static void
test_provider_notice_spooled_with_catalogue_names(void **state)
{
        char id[UUID_STR_LEN], text[8192];

        (void)state;
        request(id, "new_referral_provider", "provider", NULL, NULL, ref());
        run_sender();
        assert_field(id, "status", "sent");
        assert_field(id, "sealed", "<null>");
        assert_true(spooled(id, text, sizeof(text)));
        assert_non_null(strstr(text, "Befriending Kingston"));
        assert_non_null(strstr(text, "SP-7KQ2-M4XD"));
        assert_int_equal(count("SELECT count(*) FROM outbox WHERE key = $1 AND"
                               " ce_type = 'signpost.notification.sent.v1'",
                               id),
                         1);
}

static void
test_delivery_log_has_no_plaintext_recipient(void **state)
{
        char id[UUID_STR_LEN];

        (void)state;
        request(id, "new_referral_provider", "provider", NULL, NULL, ref());
        run_sender();
        assert_int_equal(count("SELECT count(*) FROM message m WHERE"
                               " message_id = $1 AND m::text LIKE"
                               " '%person@example.org%'",
                               id),
                         0);
        assert_int_equal(
            count("SELECT length(recipient_index) FROM message WHERE"
                  " message_id = $1",
                  id),
            64);
}

static void
test_person_without_consent_state_waits_then_goes(void **state)
{
        char id[UUID_STR_LEN], subject[UUID_STR_LEN], text[8192];

        (void)state;
        uuid_v7(subject);
        request(id, "feedback_request_person", "person", subject,
                "feedback_requests", ref());
        run_sender();
        assert_field(id, "status", "pending");
        assert_false(spooled(id, text, sizeof(text)));
        consent(subject, "feedback_requests", "granted", 1);
        db_exec(db, "UPDATE message SET next_attempt_at = now()", 0, NULL, NULL,
                NULL);
        run_sender();
        assert_field(id, "status", "sent");
        assert_true(spooled(id, text, sizeof(text)));
}

static void
test_person_without_feedback_consent_suppressed(void **state)
{
        char id[UUID_STR_LEN], subject[UUID_STR_LEN], text[8192];

        (void)state;
        uuid_v7(subject);
        consent(subject, "contact_about_service", "granted", 1);
        request(id, "feedback_request_person", "person", subject,
                "feedback_requests", ref());
        run_sender();
        assert_field(id, "status", "suppressed");
        assert_field(id, "reason", "consent absent");
        assert_field(id, "sealed", "<null>");
        assert_false(spooled(id, text, sizeof(text)));
        assert_int_equal(
            count("SELECT count(*) FROM outbox WHERE key = $1 AND ce_type ="
                  " 'signpost.notification.suppressed.v1'",
                  id),
            1);
}

static void
test_older_consent_state_does_not_win(void **state)
{
        char id[UUID_STR_LEN], subject[UUID_STR_LEN];

        (void)state;
        uuid_v7(subject);
        consent(subject, "feedback_requests", "withdrawn", 5);
        consent(subject, "feedback_requests", "granted", 4); /* late, old */
        request(id, "feedback_request_person", "person", subject,
                "feedback_requests", ref());
        run_sender();
        assert_field(id, "status", "suppressed");
        assert_field(id, "reason", "consent withdrawn");
}

static void
test_missing_placeholder_recorded_failure(void **state)
{
        char id[UUID_STR_LEN];

        (void)state;
        request(id, "new_referral_provider", "provider", NULL, NULL,
                json_object());
        run_sender();
        assert_field(id, "status", "failed");
        assert_field(id, "reason", "missing placeholder reference");
        assert_int_equal(count("SELECT count(*) FROM outbox WHERE key = $1 AND"
                               " ce_type = 'signpost.notification.failed.v1'",
                               id),
                         1);
}

static void
test_unknown_template_recorded_failure(void **state)
{
        char id[UUID_STR_LEN];

        (void)state;
        request(id, "no_such_template", "admin", NULL, NULL, ref());
        run_sender();
        assert_field(id, "status", "failed");
        assert_field(id, "reason", "unknown template");
}

static void
test_unopenable_recipient_recorded_failure(void **state)
{
        char id[UUID_STR_LEN];
        json_t *r;

        (void)state;
        uuid_v7(id);
        r = json_pack("{s:s, s:s, s:s, s:s}", "message_id", id, "template",
                      "new_referral_provider", "audience", "provider", "sealed",
                      "bm90LWEtYm94");
        assert_int_equal(
            apply(NOTIFY_TOPIC_REQUESTS, NOTIFY_TYPE_REQUESTED, id, r),
            ERR_NONE);
        assert_field(id, "status", "failed");
}

static void
test_redelivered_request_recorded_once(void **state)
{
        char id[UUID_STR_LEN];
        char *sealed = seal("email", "a@example.org", ref());
        json_t *r;
        int i;

        (void)state;
        uuid_v7(id);
        for (i = 0; i < 2; i++) {
                r = json_pack("{s:s, s:s, s:s, s:s, s:s}", "message_id", id,
                              "template", "new_referral_provider", "audience",
                              "provider", "sealed", sealed, "service_id",
                              SERVICE);
                assert_int_equal(
                    apply(NOTIFY_TOPIC_REQUESTS, NOTIFY_TYPE_REQUESTED, id, r),
                    ERR_NONE);
                run_sender();
        }
        free(sealed);
        assert_int_equal(
            count("SELECT count(*) FROM message WHERE message_id = $1", id), 1);
        assert_int_equal(
            count("SELECT count(*) FROM outbox WHERE key = $1", id), 1);
}

static void
test_malformed_request_is_invalid(void **state)
{
        (void)state;
        assert_int_equal(
            apply(NOTIFY_TOPIC_REQUESTS, NOTIFY_TYPE_REQUESTED, "x",
                  json_pack("{s:s, s:s, s:s}", "message_id", "nope", "template",
                            "x", "audience", "person")),
            ERR_INVALID);
}

static void
test_spool_delivered_before_crash_not_rewritten(void **state)
{
        char id[UUID_STR_LEN], path[1024], text[8192];
        FILE *f;

        (void)state;
        request(id, "new_referral_provider", "provider", NULL, NULL, ref());
        /* the previous life wrote the file, then died before recording */
        snprintf(path, sizeof(path), "%s/%s.eml", spool, id);
        f = fopen(path, "w");
        fputs("first delivery", f);
        fclose(f);
        run_sender();
        assert_field(id, "status", "sent");
        assert_true(spooled(id, text, sizeof(text)));
        assert_string_equal(text, "first delivery");
}

static void
test_sending_row_reconciled_from_spool(void **state)
{
        char id[UUID_STR_LEN], id2[UUID_STR_LEN], path[1024], text[8192];
        FILE *f;

        (void)state;
        request(id, "new_referral_provider", "provider", NULL, NULL, ref());
        request(id2, "new_referral_provider", "provider", NULL, NULL, ref());
        db_exec(db,
                "UPDATE message SET status = 'sending', claimed_by = 'test'"
                " WHERE status = 'pending'",
                0, NULL, NULL, NULL);
        snprintf(path, sizeof(path), "%s/%s.eml", spool, id);
        f = fopen(path, "w");
        fputs("delivered", f);
        fclose(f);
        assert_int_equal(notify_sender_reconcile(&ctx, db, NULL), 0);
        assert_field(id, "status", "sent");
        assert_field(id2, "status", "pending");
        run_sender();
        assert_field(id2, "status", "sent");
        assert_true(spooled(id, text, sizeof(text)));
        assert_string_equal(text, "delivered");
}

/* with_channel: runs the sender with ch instead of the spool. */
static void
run_with(struct notify_channel *ch)
{
        struct notify_channel *spool_ch = ctx.channel;

        ctx.channel = ch;
        run_sender();
        ctx.channel = spool_ch;
}

static void
test_smtp_delivers_once_with_message_id(void **state)
{
        char id[UUID_STR_LEN], url[64], mid[128];
        struct notify_channel *ch;
        int before = atomic_load(&sink.count);

        (void)state;
        snprintf(url, sizeof(url), "smtp://127.0.0.1:%d", sink.port);
        ch = notify_channel_smtp(url, NULL);
        request(id, "new_referral_provider", "provider", NULL, NULL, ref());
        run_with(ch);
        assert_field(id, "status", "sent");
        assert_int_equal(atomic_load(&sink.count), before + 1);
        snprintf(mid, sizeof(mid), "Message-ID: <%s@signpost>", id);
        assert_non_null(strstr(sink.last, mid));
        run_with(ch); /* nothing due: nothing more sent */
        assert_int_equal(atomic_load(&sink.count), before + 1);
        ch->free(ch);
}

static void
test_smtp_sending_row_not_sent_again(void **state)
{
        char id[UUID_STR_LEN], url[64];
        struct notify_channel *ch, *spool_ch = ctx.channel;
        int before = atomic_load(&sink.count);

        (void)state;
        snprintf(url, sizeof(url), "smtp://127.0.0.1:%d", sink.port);
        ch = notify_channel_smtp(url, NULL);
        request(id, "new_referral_provider", "provider", NULL, NULL, ref());
        /* died after the point of no return */
        db_exec(db,
                "UPDATE message SET status = 'sending', claimed_by = 'test'"
                " WHERE status = 'pending'",
                0, NULL, NULL, NULL);
        ctx.channel = ch;
        assert_int_equal(notify_sender_reconcile(&ctx, db, NULL), 0);
        run_sender();
        ctx.channel = spool_ch;
        assert_field(id, "status", "sent");
        assert_int_equal(atomic_load(&sink.count), before);
        ch->free(ch);
}

static void
test_smtp_down_retries_then_fails(void **state)
{
        char id[UUID_STR_LEN];
        struct notify_channel *ch =
            notify_channel_smtp("smtp://127.0.0.1:1", NULL);
        int max = ctx.max_attempts;

        (void)state;
        ctx.max_attempts = 2;
        request(id, "new_referral_provider", "provider", NULL, NULL, ref());
        run_with(ch);
        assert_field(id, "status", "pending");
        assert_field(id, "attempts", "1");
        assert_field(id, "(next_attempt_at > now())", "true");
        db_exec(db, "UPDATE message SET next_attempt_at = now()", 0, NULL, NULL,
                NULL);
        run_with(ch);
        assert_field(id, "status", "failed");
        assert_field(id, "sealed", "<null>");
        ctx.max_attempts = max;
        ch->free(ch);
}

/* ---- one-time codes ---- */

static char issued_code[8];

static void
issue(char code_id[UUID_STR_LEN])
{
        char subject[UUID_STR_LEN], expires[40], text[8192];
        char *sealed = seal("email", "code@example.org", NULL);
        const char *p;
        PGresult *r;

        uuid_v7(subject);
        assert_int_equal(notify_code_issue(&ctx, db, subject, sealed, code_id,
                                           expires, NULL),
                         0);
        free(sealed);
        run_sender();
        r = db_query(db, "SELECT message_id FROM code WHERE id = $1", 1,
                     (const char *const[]){code_id}, NULL);
        assert_true(spooled(PQgetvalue(r, 0, 0), text, sizeof(text)));
        PQclear(r);
        p = strstr(text, "Your code is ");
        assert_non_null(p);
        snprintf(issued_code, sizeof(issued_code), "%.6s", p + 13);
}

static void
test_code_verifies_once(void **state)
{
        char id[UUID_STR_LEN], subject[UUID_STR_LEN];
        struct err e = {0};

        (void)state;
        issue(id);
        assert_int_equal(count("SELECT count(*) FROM code WHERE code_hash"
                               " LIKE '%' || $1 || '%'",
                               issued_code),
                         0);
        assert_int_equal(
            notify_code_verify(&ctx, db, id, issued_code, subject, &e), 0);
        assert_int_equal(
            notify_code_verify(&ctx, db, id, issued_code, subject, &e), -1);
        assert_int_equal(e.kind, ERR_CONFLICT);
}

static void
test_code_locked_after_five_wrong(void **state)
{
        char id[UUID_STR_LEN], subject[UUID_STR_LEN], wrong[8];
        struct err e = {0};
        int i;

        (void)state;
        issue(id);
        snprintf(wrong, sizeof(wrong), "%06d",
                 (atoi(issued_code) + 1) % 1000000);
        for (i = 0; i < 5; i++) {
                assert_int_equal(
                    notify_code_verify(&ctx, db, id, wrong, subject, &e), -1);
                assert_int_equal(e.kind, ERR_INVALID);
        }
        assert_int_equal(
            notify_code_verify(&ctx, db, id, issued_code, subject, &e), -1);
        assert_int_equal(e.kind, ERR_CONFLICT);
}

static void
test_code_expires(void **state)
{
        char id[UUID_STR_LEN], subject[UUID_STR_LEN];
        struct err e = {0};

        (void)state;
        issue(id);
        db_exec(db, "UPDATE code SET expires_at = now() - interval '1 s'", 0,
                NULL, NULL, NULL);
        assert_int_equal(
            notify_code_verify(&ctx, db, id, issued_code, subject, &e), -1);
        assert_int_equal(e.kind, ERR_CONFLICT);
}

/* ---- set-up ---- */

static int
keys(void)
{
        struct secret_key *sk = NULL;

        if (secret_box_keypair(ctx.box_pk, &sk, NULL) != 0 ||
            secret_key_random(SECRET_KEY_BYTES, NULL, &ctx.index_key, NULL) !=
                0 ||
            secret_key_random(SECRET_KEY_BYTES, NULL, &ctx.code_key, NULL) != 0)
                return -1;
        ctx.box_sk = sk;
        return 0;
}

static int
setup(void **state)
{
        char conninfo[1024];
        struct err e = {0};

        (void)state;
        if ((db = testdb_migrated("notification_test_sender", NOTIFY_SCHEMA,
                                  "services/notification/migrations", conninfo,
                                  sizeof(conninfo))) == NULL ||
            keys() != 0)
                return -1;
        snprintf(spool, sizeof(spool), "%s/notification-spool-%d",
                 testenv_tmp(), (int)getpid());
        ctx.channel = notify_channel_spool(spool, false, 0, &e);
        snprintf(ctx.instance, sizeof(ctx.instance), "test");
        snprintf(ctx.from, sizeof(ctx.from), "signpost <no-reply@example.org>");
        ctx.max_attempts = 5;
        ctx.backoff_base_ms = 1000;
        ctx.backoff_cap_ms = 60000;
        ctx.consent_wait_ms = 3600000;
        ctx.consent_recheck_ms = 60000;
        ctx.batch = 50;
        sink_start();
        return ctx.channel == NULL
                   ? -1
                   : (int)apply(
                         NOTIFY_TOPIC_SERVICES, "signpost.service.updated.v1",
                         SERVICE,
                         json_pack("{s:s, s:s, s:s, s:s, s:s, s:b, s:[]}", "id",
                                   SERVICE, "name", "Befriending Kingston",
                                   "organization_id", ORG, "organization_name",
                                   "Age Well", "status", "active",
                                   "accepts_referrals", 1, "taxonomy_terms"));
}

static int
teardown(void **state)
{
        (void)state;
        ctx.channel->free(ctx.channel);
        secret_key_free(ctx.box_sk);
        secret_key_free(ctx.index_key);
        secret_key_free(ctx.code_key);
        shutdown(sink.fd, SHUT_RDWR);
        close(sink.fd);
        pthread_join(sink.thread, NULL);
        db_free(db);
        return 0;
}

int
main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_provider_notice_spooled_with_catalogue_names),
            cmocka_unit_test(test_delivery_log_has_no_plaintext_recipient),
            cmocka_unit_test(test_person_without_consent_state_waits_then_goes),
            cmocka_unit_test(test_person_without_feedback_consent_suppressed),
            cmocka_unit_test(test_older_consent_state_does_not_win),
            cmocka_unit_test(test_missing_placeholder_recorded_failure),
            cmocka_unit_test(test_unknown_template_recorded_failure),
            cmocka_unit_test(test_unopenable_recipient_recorded_failure),
            cmocka_unit_test(test_redelivered_request_recorded_once),
            cmocka_unit_test(test_malformed_request_is_invalid),
            cmocka_unit_test(test_spool_delivered_before_crash_not_rewritten),
            cmocka_unit_test(test_sending_row_reconciled_from_spool),
            cmocka_unit_test(test_smtp_delivers_once_with_message_id),
            cmocka_unit_test(test_smtp_sending_row_not_sent_again),
            cmocka_unit_test(test_smtp_down_retries_then_fails),
            cmocka_unit_test(test_code_verifies_once),
            cmocka_unit_test(test_code_locked_after_five_wrong),
            cmocka_unit_test(test_code_expires),
        };

        return cmocka_run_group_tests(tests, setup, teardown);
}
