/*
 * postcodes: the postcode CSV import. The first line names the columns
 * (postcode|pcd|pcds, latitude|lat, longitude|long|lng; others ignored);
 * fields may be double-quoted. A malformed line rejects the whole file
 * with its line number, so an operator fixes the file rather than loading
 * half of it. Rows go to the store in batches.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "directory.h"

#define BATCH 2000

struct buf {
        char *s;
        size_t len, cap;
};

static int
buf_add(struct buf *b, const char *s, size_t n)
{
        if (b->len + n + 2 > b->cap) {
                size_t cap = (b->cap + n + 2) * 2;
                char *p = realloc(b->s, cap);
                if (p == NULL)
                        return -1;
                b->s = p;
                b->cap = cap;
        }
        memcpy(b->s + b->len, s, n);
        b->len += n;
        b->s[b->len] = '\0';
        return 0;
}

/* field: copies field i of line (comma-separated, quotes stripped). */
static bool
field(const char *line, size_t linelen, int i, char *out, size_t outsz)
{
        const char *p = line, *end = line + linelen;
        size_t n;

        for (; i > 0; i--) {
                p = memchr(p, ',', (size_t)(end - p));
                if (p == NULL)
                        return false;
                p++;
        }
        n = strcspn(p, ",\r\n");
        if (p + n > end)
                n = (size_t)(end - p);
        if (n >= 2 && p[0] == '"' && p[n - 1] == '"') {
                p++;
                n -= 2;
        }
        if (n >= outsz)
                return false;
        memcpy(out, p, n);
        out[n] = '\0';
        return true;
}

static int
column(const char *hdr, size_t len, const char *const names[])
{
        char f[32];
        int i, k;

        for (i = 0; field(hdr, len, i, f, sizeof(f)); i++)
                for (k = 0; names[k] != NULL; k++)
                        if (strcasecmp(f, names[k]) == 0)
                                return i;
        return -1;
}

static int
flush(struct db *db, struct buf b[3], long *n, struct err *e)
{
        long got = 0;
        int i;

        if (b[0].len <= 1)
                return 0;
        for (i = 0; i < 3; i++)
                if (buf_add(&b[i], "}", 1) < 0)
                        return err_set(e, ERR_FATAL, NULL, "out of memory");
        if (dir_store_postcodes_load(db, b[0].s, b[1].s, b[2].s, &got, e) < 0)
                return -1;
        *n += got;
        for (i = 0; i < 3; i++) {
                b[i].len = 0;
                buf_add(&b[i], "{", 1);
        }
        return 0;
}

static int
parse_line(const char *line, size_t len, const int col[3], struct buf b[3],
           struct err *e, long lineno)
{
        char pc[16], raw[32], lat[32], lng[32], *end;
        double la, lo;

        if (!field(line, len, col[0], raw, sizeof(raw)) ||
            !field(line, len, col[1], lat, sizeof(lat)) ||
            !field(line, len, col[2], lng, sizeof(lng)) ||
            !dir_postcode_normalise(raw, pc))
                return err_set(e, ERR_INVALID, "csv",
                               "line %ld: bad postcode or missing field",
                               lineno);
        la = strtod(lat, &end);
        if (end == lat || *end != '\0' || la < -90 || la > 90)
                return err_set(e, ERR_INVALID, "csv", "line %ld: latitude",
                               lineno);
        lo = strtod(lng, &end);
        if (end == lng || *end != '\0' || lo < -180 || lo > 180)
                return err_set(e, ERR_INVALID, "csv", "line %ld: longitude",
                               lineno);
        if ((b[0].len > 1 && buf_add(&b[0], ",", 1) < 0) ||
            (b[1].len > 1 && buf_add(&b[1], ",", 1) < 0) ||
            (b[2].len > 1 && buf_add(&b[2], ",", 1) < 0) ||
            buf_add(&b[0], pc, strlen(pc)) < 0 ||
            buf_add(&b[1], lat, strlen(lat)) < 0 ||
            buf_add(&b[2], lng, strlen(lng)) < 0)
                return err_set(e, ERR_FATAL, NULL, "out of memory");
        return 0;
}

int
dir_import_postcodes(struct db *db, const char *csv, long *n, struct err *e)
{
        static const char *const pcn[] = {"postcode", "pcd", "pcds", "pcd2",
                                          NULL};
        static const char *const latn[] = {"latitude", "lat", NULL};
        static const char *const lngn[] = {"longitude", "long", "lng", NULL};
        struct buf b[3] = {{0}};
        const char *p = csv;
        size_t len = strcspn(p, "\n");
        int col[3], i, rc = -1;
        long lineno = 1, rows = 0;

        *n = 0;
        col[0] = column(p, len, pcn);
        col[1] = column(p, len, latn);
        col[2] = column(p, len, lngn);
        if (col[0] < 0 || col[1] < 0 || col[2] < 0)
                return err_set(e, ERR_INVALID, "csv",
                               "header needs postcode, latitude, longitude");
        for (i = 0; i < 3; i++)
                if (buf_add(&b[i], "{", 1) < 0)
                        goto out;
        for (p += len; *p != '\0'; p += len) {
                p += *p == '\n';
                lineno++;
                len = strcspn(p, "\n");
                if (len == 0 || (len == 1 && p[0] == '\r'))
                        continue;
                if (parse_line(p, len, col, b, e, lineno) < 0)
                        goto out;
                if (++rows % BATCH == 0 && flush(db, b, n, e) < 0)
                        goto out;
        }
        rc = flush(db, b, n, e);
out:
        for (i = 0; i < 3; i++)
                free(b[i].s);
        return rc;
}
