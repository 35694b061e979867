/*
 * oruk_params: the query parameters of the ORUK read API. Each getter
 * checks one parameter and fills struct dir_query; the first bad one is
 * kept in rq->e as ERR_INVALID naming the parameter (a 400). Does not
 * build answers (oruk.c) and runs no SQL but the existence checks of ids
 * and the postcode lookup through store.c.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "directory.h"

int
dir_param_bad(struct dir_req *rq, const char *param, const char *why)
{
        return err_set(&rq->e, ERR_INVALID, param, "%s", why);
}

/* utf8_len: code points in s, or -1 when s is not valid UTF-8. */
static long
utf8_len(const char *s)
{
        const unsigned char *p = (const unsigned char *)s;
        long n = 0;

        while (*p) {
                int extra = *p < 0x80             ? 0
                            : (*p & 0xE0) == 0xC0 ? 1
                            : (*p & 0xF0) == 0xE0 ? 2
                            : (*p & 0xF8) == 0xF0 ? 3
                                                  : -1;
                if (extra < 0 || (extra == 1 && *p < 0xC2) || *p > 0xF4)
                        return -1;
                for (p++; extra > 0; extra--, p++)
                        if ((*p & 0xC0) != 0x80)
                                return -1;
                n++;
        }
        return n;
}

/* param: returns the value (NULL when absent or empty); a value that is
 * not UTF-8 fails the request. */
const char *
dir_param(struct dir_req *rq, const char *name)
{
        const char *v = rq->get(rq->arg, name);

        if (v == NULL || v[0] == '\0' || rq->e.kind != ERR_NONE)
                return NULL;
        if (utf8_len(v) < 0) {
                dir_param_bad(rq, name, "not valid UTF-8");
                return NULL;
        }
        return v;
}

static bool
is_number(const char *v, double lo, double hi)
{
        char *end = NULL;
        double d = strtod(v, &end);

        return end != v && *end == '\0' && d >= lo && d <= hi;
}

static const char *
p_number(struct dir_req *rq, const char *name, double lo, double hi)
{
        const char *v = dir_param(rq, name);

        if (v != NULL && !is_number(v, lo, hi)) {
                dir_param_bad(rq, name, "not a number in range");
                return NULL;
        }
        return v;
}

static int
p_int(struct dir_req *rq, const char *name, int def, int lo, int hi)
{
        const char *v = dir_param(rq, name);
        char *end = NULL;
        long n;

        if (v == NULL)
                return def;
        n = strtol(v, &end, 10);
        if (end == v || *end != '\0' || n < lo || n > hi) {
                dir_param_bad(rq, name, "out of range");
                return def;
        }
        return (int)n;
}

const char *
dir_param_uuid(struct dir_req *rq, const char *name, const char *table)
{
        const char *v = dir_param(rq, name);
        bool found = true;

        if (v == NULL)
                return NULL;
        if (!uuid_valid(v)) {
                dir_param_bad(rq, name, "not a UUID");
                return NULL;
        }
        if (table != NULL &&
            dir_store_exists(rq->db, table, v, &found, &rq->e) == 0 && !found)
                dir_param_bad(rq, name, "unknown id");
        return v;
}

static const char *
p_time(struct dir_req *rq, const char *name)
{
        const char *v = dir_param(rq, name);
        unsigned h, m, s = 0;
        char tail;

        if (v == NULL)
                return NULL;
        if ((sscanf(v, "%2u:%2u:%2u%c", &h, &m, &s, &tail) != 3 &&
             sscanf(v, "%2u:%2u%c", &h, &m, &tail) != 2) ||
            h > 23 || m > 59 || s > 59) {
                dir_param_bad(rq, name, "expected HH:MM or HH:MM:SS");
                return NULL;
        }
        return v;
}

static const char *
p_day(struct dir_req *rq)
{
        static const char *const days[7][2] = {
            {"MO", "monday"},   {"TU", "tuesday"}, {"WE", "wednesday"},
            {"TH", "thursday"}, {"FR", "friday"},  {"SA", "saturday"},
            {"SU", "sunday"},
        };
        const char *v = dir_param(rq, "day");
        int i;

        if (v == NULL)
                return NULL;
        for (i = 0; i < 7; i++)
                if (strcasecmp(v, days[i][0]) == 0 ||
                    strcasecmp(v, days[i][1]) == 0)
                        return days[i][0];
        dir_param_bad(rq, "day", "expected MO..SU or a day name");
        return NULL;
}

static const char *
p_timestamp(struct dir_req *rq, const char *name)
{
        const char *v = dir_param(rq, name);
        unsigned y, mo, d;
        int used = 0;

        if (v == NULL)
                return NULL;
        if (sscanf(v, "%4u-%2u-%2u%n", &y, &mo, &d, &used) != 3 || used != 10 ||
            mo < 1 || mo > 12 || d < 1 || d > 31 ||
            (v[10] != '\0' && v[10] != 'T' && v[10] != ' ') ||
            strspn(v + 10, "T 0123456789:.+-Z") != strlen(v + 10)) {
                dir_param_bad(rq, name,
                              "expected an ISO 8601 date or date-time");
                return NULL;
        }
        return v;
}

bool
dir_postcode_normalise(const char *in, char out[16])
{
        size_t n = 0, i;

        for (; *in; in++) {
                if (*in == ' ')
                        continue;
                if (!isalnum((unsigned char)*in) || n >= 7)
                        return false;
                out[n++] = (char)toupper((unsigned char)*in);
        }
        out[n] = '\0';
        if (n < 5)
                return false;
        /* inward: digit letter letter; outward: A[A]9[A9] */
        if (!isdigit((unsigned char)out[n - 3]) ||
            !isalpha((unsigned char)out[n - 2]) ||
            !isalpha((unsigned char)out[n - 1]) ||
            !isalpha((unsigned char)out[0]))
                return false;
        i = isalpha((unsigned char)out[1]) ? 2 : 1;
        if (!isdigit((unsigned char)out[i]))
                return false;
        return n - 3 - i <= 2 &&
               (n - 3 - i == 1 || isalnum((unsigned char)out[i + 1]));
}

/* point: postcode or lat/lng, then proximity and sort. */
void
dir_param_point(struct dir_req *rq)
{
        struct dir_query *q = &rq->q;
        const char *pc = dir_param(rq, "postcode");
        const char *lat = p_number(rq, "lat", -90, 90);
        const char *lng = p_number(rq, "lng", -180, 180);
        const char *sort = dir_param(rq, "sort");
        bool found = false;

        if (pc != NULL) {
                if (!dir_postcode_normalise(pc, rq->postcode)) {
                        dir_param_bad(rq, "postcode", "not a UK postcode");
                        return;
                }
                if (dir_store_postcode(rq->db, rq->postcode, q->lat, q->lng,
                                       &found, &rq->e) < 0)
                        return;
                if (!found) {
                        dir_param_bad(rq, "postcode", "unknown postcode");
                        return;
                }
                q->has_point = true;
        } else if (lat != NULL && lng != NULL) {
                snprintf(q->lat, sizeof(q->lat), "%s", lat);
                snprintf(q->lng, sizeof(q->lng), "%s", lng);
                q->has_point = true;
        } else if (lat != NULL || lng != NULL) {
                dir_param_bad(rq, lat ? "lng" : "lat",
                              "lat and lng go together");
        }
        q->proximity = p_number(rq, "proximity", 1, DIR_PROXIMITY_MAX);
        if (q->proximity != NULL && !q->has_point)
                dir_param_bad(rq, "proximity", "needs postcode or lat and lng");
        if (sort != NULL && strcmp(sort, "distance") == 0)
                q->sort_distance = true;
        else if (sort != NULL && strcmp(sort, "relevance") != 0)
                dir_param_bad(rq, "sort", "expected distance or relevance");
        if (q->sort_distance && !q->has_point)
                dir_param_bad(rq, "sort",
                              "distance needs postcode or lat and lng");
}

void
dir_param_paging(struct dir_req *rq)
{
        rq->q.page = p_int(rq, "page", 1, 1, 1000000);
        rq->q.per_page =
            p_int(rq, "per_page", DIR_PER_PAGE_DEFAULT, 1, DIR_PER_PAGE_MAX);
}

void
dir_param_services(struct dir_req *rq, bool at_locations)
{
        struct dir_query *q = &rq->q;
        long len;

        dir_param_paging(rq);
        q->search = dir_param(rq, "search");
        if (q->search != NULL) {
                len = utf8_len(q->search);
                if (len > DIR_SEARCH_MAX)
                        dir_param_bad(rq, "search",
                                      "longer than 200 characters");
                if (strspn(q->search, " \t") == strlen(q->search))
                        q->search = NULL;
        }
        q->taxonomy_term_id =
            dir_param_uuid(rq, "taxonomy_term_id", "taxonomy_terms");
        q->taxonomy_id = dir_param_uuid(rq, "taxonomy_id", "taxonomies");
        q->organization_id = dir_param_uuid(rq, "organization_id", NULL);
        q->minimum_age = p_number(rq, "minimum_age", 0, 150);
        q->maximum_age = p_number(rq, "maximum_age", 0, 150);
        q->age = p_number(rq, "age", 0, 150);
        q->modified_after = p_timestamp(rq, "modified_after");
        q->day = p_day(rq);
        q->start_time = p_time(rq, "start_time");
        q->end_time = p_time(rq, "end_time");
        (void)at_locations;
        dir_param_point(rq);
}
