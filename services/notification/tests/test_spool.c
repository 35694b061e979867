/*
 * test_spool: the file channel on its own. A message appears under its
 * name whole; with fsync it appears only when the batch is flushed; a
 * message already there is never replaced; no temporary files are left.
 */
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "../notification.h"
#include "testenv.h"

static const struct notify_rendered body = {
    .subject = "New referral SP-7KQ2-M4XD", .text = "Sign in to read it.\n"};

static void
new_dir(char *out, size_t outsz)
{
        static int seq;

        snprintf(out, outsz, "%s/spool-test-%d-%d", testenv_tmp(),
                 (int)getpid(), seq++);
}

static struct notify_msg
msg(const char *id)
{
        return (struct notify_msg){.message_id = id,
                                   .kind = "new_referral_provider",
                                   .channel = "email",
                                   .to = "provider@example.org",
                                   .from = "signpost <no-reply@example.org>",
                                   .body = &body};
}

static bool
has_file(const char *dir, const char *id, char *text, size_t sz)
{
        char path[1024];
        FILE *f;
        size_t n;

        snprintf(path, sizeof(path), "%s/%s.eml", dir, id);
        f = fopen(path, "r");
        if (f == NULL)
                return false;
        n = fread(text, 1, sz - 1, f);
        text[n] = '\0';
        fclose(f);
        return true;
}

/* entries: files in dir (also hidden ones), "." and ".." aside. */
static int
entries(const char *dir)
{
        DIR *d = opendir(dir);
        struct dirent *de;
        int n = 0;

        assert_non_null(d);
        while ((de = readdir(d)) != NULL)
                if (strcmp(de->d_name, ".") != 0 &&
                    strcmp(de->d_name, "..") != 0)
                        n++;
        closedir(d);
        return n;
}

static void
test_message_appears_whole(void **state)
{
        char dir[512], id[UUID_STR_LEN], text[4096];
        struct notify_channel *ch;
        struct notify_msg m;

        (void)state;
        new_dir(dir, sizeof(dir));
        ch = notify_channel_spool(dir, false, 0, NULL);
        assert_non_null(ch);
        uuid_v7(id);
        m = msg(id);
        assert_int_equal(ch->send(ch, &m, NULL, NULL, NULL), 0);
        assert_int_equal(ch->flush(ch, NULL), 0);
        assert_true(has_file(dir, id, text, sizeof(text)));
        assert_non_null(strstr(text, "Sign in to read it.\r\n"));
        assert_non_null(strstr(text, id));
        assert_int_equal(entries(dir), 1); /* no temporary file left */
        assert_int_equal(ch->reconcile(ch, id, NULL), 1);
        ch->free(ch);
}

/* The spool holds plaintext: what is older than its maximum age goes,
 * at start and while it sends; what is newer stays. */
static void
test_old_files_pruned_new_kept(void **state)
{
        char dir[512], path[700], oldid[UUID_STR_LEN], newid[UUID_STR_LEN];
        char text[4096];
        struct notify_channel *ch;
        struct notify_msg m;
        struct timespec old[2] = {{.tv_sec = time(NULL) - 7200},
                                  {.tv_sec = time(NULL) - 7200}};

        (void)state;
        new_dir(dir, sizeof(dir));
        ch = notify_channel_spool(dir, false, 3600, NULL);
        assert_non_null(ch);
        uuid_v7(oldid);
        m = msg(oldid);
        assert_int_equal(ch->send(ch, &m, NULL, NULL, NULL), 0);
        uuid_v7(newid);
        m = msg(newid);
        assert_int_equal(ch->send(ch, &m, NULL, NULL, NULL), 0);
        snprintf(path, sizeof(path), "%s/%s.eml", dir, oldid);
        assert_int_equal(utimensat(AT_FDCWD, path, old, 0), 0);
        assert_int_equal(notify_spool_prune(ch, time(NULL)), 1);
        assert_false(has_file(dir, oldid, text, sizeof(text)));
        assert_true(has_file(dir, newid, text, sizeof(text)));
        ch->free(ch);
        /* a daemon starting over an old spool sweeps it first */
        snprintf(path, sizeof(path), "%s/%s.eml", dir, newid);
        assert_int_equal(utimensat(AT_FDCWD, path, old, 0), 0);
        ch = notify_channel_spool(dir, false, 3600, NULL);
        assert_non_null(ch);
        assert_int_equal(entries(dir), 0);
        ch->free(ch);
}

/* "auto" never picks the plaintext spool: without SMTP or an API there
 * is no channel, and the daemon refuses to start. */
static void
test_auto_never_chooses_spool(void **state)
{
        (void)state;
        assert_null(notify_channel_kind("auto", NULL, NULL));
        assert_string_equal(notify_channel_kind("auto", "smtp://x:25", NULL),
                            "smtp");
        assert_string_equal(notify_channel_kind("auto", NULL, "http://n"),
                            "api");
        assert_string_equal(notify_channel_kind("spool", NULL, NULL), "spool");
        assert_null(notify_channel_kind("carrier-pigeon", NULL, NULL));
}

static void
test_fsync_message_appears_at_flush(void **state)
{
        char dir[512], id[UUID_STR_LEN], text[4096];
        struct notify_channel *ch;
        struct notify_msg m;

        (void)state;
        new_dir(dir, sizeof(dir));
        ch = notify_channel_spool(dir, true, 0, NULL);
        assert_non_null(ch);
        uuid_v7(id);
        m = msg(id);
        assert_int_equal(ch->send(ch, &m, NULL, NULL, NULL), 0);
        /* staged, not delivered: a crash now loses nothing delivered */
        assert_false(has_file(dir, id, text, sizeof(text)));
        assert_int_equal(ch->reconcile(ch, id, NULL), 0);
        assert_int_equal(ch->flush(ch, NULL), 0);
        assert_true(has_file(dir, id, text, sizeof(text)));
        assert_int_equal(entries(dir), 1);
        ch->free(ch);
}

static void
test_existing_message_never_replaced(void **state)
{
        char dir[512], id[UUID_STR_LEN], path[1024], text[4096];
        struct notify_channel *ch;
        struct notify_msg m;
        FILE *f;
        int fsync;

        (void)state;
        for (fsync = 0; fsync < 2; fsync++) {
                new_dir(dir, sizeof(dir));
                ch = notify_channel_spool(dir, fsync, 0, NULL);
                assert_non_null(ch);
                uuid_v7(id);
                snprintf(path, sizeof(path), "%s/%s.eml", dir, id);
                f = fopen(path, "w");
                assert_non_null(f);
                fputs("delivered before a crash\n", f);
                fclose(f);
                m = msg(id);
                assert_int_equal(ch->send(ch, &m, NULL, NULL, NULL), 0);
                assert_int_equal(ch->flush(ch, NULL), 0);
                assert_true(has_file(dir, id, text, sizeof(text)));
                assert_string_equal(text, "delivered before a crash\n");
                assert_int_equal(entries(dir), 1);
                ch->free(ch);
        }
}

int
main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_message_appears_whole),
            cmocka_unit_test(test_fsync_message_appears_at_flush),
            cmocka_unit_test(test_existing_message_never_replaced),
            cmocka_unit_test(test_old_files_pruned_new_kept),
            cmocka_unit_test(test_auto_never_chooses_spool),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
