/*
 * workdays: counting working days in England and Wales: not a Saturday, a
 * Sunday, or a bank holiday from the data file
 * (data/bank-holidays-england-and-wales.csv). Days are numbered from
 * 1970-01-01 in UTC. Owns the holiday table; knows nothing of referrals.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "intake.h"

static int
day_cmp(const void *a, const void *b)
{
        int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;

        return (x > y) - (x < y);
}

/* parse_day: "YYYY-MM-DD" at the start of line into a day number. */
static int
parse_day(const char *line, int32_t *out)
{
        struct tm tm = {0};
        int y, m, d;

        if (sscanf(line, "%4d-%2d-%2d", &y, &m, &d) != 3 || m < 1 || m > 12 ||
            d < 1 || d > 31)
                return -1;
        tm.tm_year = y - 1900;
        tm.tm_mon = m - 1;
        tm.tm_mday = d;
        *out = intake_day_of(timegm(&tm));
        return 0;
}

int
intake_holidays_load(struct intake_holidays *h, const char *path, struct err *e)
{
        FILE *f = fopen(path, "r");
        char line[256];
        int cap = 0;

        memset(h, 0, sizeof(*h));
        if (f == NULL)
                return err_set(e, ERR_FATAL, NULL, "cannot open holidays file");
        while (fgets(line, sizeof(line), f) != NULL) {
                int32_t day;
                if (parse_day(line, &day) < 0)
                        continue; /* header, blank or comment */
                if (h->n == cap) {
                        int32_t *d;
                        cap = cap ? cap * 2 : 64;
                        d = realloc(h->days, (size_t)cap * sizeof(*d));
                        if (d == NULL) {
                                fclose(f);
                                return err_set(e, ERR_FATAL, NULL,
                                               "out of memory");
                        }
                        h->days = d;
                }
                h->days[h->n++] = day;
        }
        fclose(f);
        qsort(h->days, (size_t)h->n, sizeof(*h->days), day_cmp);
        return 0;
}

void
intake_holidays_fini(struct intake_holidays *h)
{
        free(h->days);
        memset(h, 0, sizeof(*h));
}

int32_t
intake_day_of(time_t t)
{
        return (int32_t)(t >= 0 ? t / 86400 : (t - 86399) / 86400);
}

static bool
working(const struct intake_holidays *h, int32_t day)
{
        int wd = (int)(((day + 3) % 7 + 7) % 7); /* 0 = Monday */

        if (wd >= 5)
                return false;
        return h->n == 0 || bsearch(&day, h->days, (size_t)h->n,
                                    sizeof(*h->days), day_cmp) == NULL;
}

int
intake_workdays(const struct intake_holidays *h, int32_t from, int32_t to)
{
        int n = 0;
        int32_t d;

        for (d = from + 1; d <= to; d++)
                if (working(h, d))
                        n++;
        return n;
}
