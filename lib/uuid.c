/*
 * uuid: makes and checks UUID text. Owns the process-wide v7 state (the
 * last timestamp and counter, behind a mutex) that keeps v7 values
 * monotonic; randomness comes from libsodium, drawn 256 bytes at a time
 * for v7 (a system call per value, under the lock, was the cost of
 * every request id). Does not parse UUIDs into
 * binary: callers keep the text form.
 *
 * v7 layout (RFC 9562 5.7): 48-bit Unix milliseconds, version 7, 12-bit
 * rand_a, variant 10, 62-bit rand_b. Within one millisecond (or when the
 * clock steps back) the 74 random bits are treated as one counter and
 * advanced by a random step, so values stay unguessable and ordered; when
 * the counter overflows the timestamp is advanced by one millisecond.
 */
#include "uuid.h"

#include <pthread.h>
#include <sodium.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define RAND_B_MASK ((UINT64_C(1) << 62) - 1)
#define RAND_A_MASK 0x0fffu

static pthread_mutex_t v7_lock = PTHREAD_MUTEX_INITIALIZER;
static uint64_t v7_ms;     /* timestamp of the last value */
static uint16_t v7_rand_a; /* 12 bits */
static uint64_t v7_rand_b; /* 62 bits */

/* Random bytes for v7, drawn ahead: one system call per 256 bytes
 * rather than one (under v7_lock) per value. Guarded by v7_lock. */
static unsigned char v7_pool[256];
static size_t v7_pool_pos = sizeof(v7_pool);
static pthread_once_t sodium_once = PTHREAD_ONCE_INIT;

static void
sodium_start(void)
{
        /* sodium_init fails only when the system has no usable entropy
         * source. */
        if (sodium_init() < 0)
                abort();
}

static void
uuid_sodium_ready(void)
{
        pthread_once(&sodium_once, sodium_start);
}

/* v7_random: n (<= sizeof(v7_pool)) bytes, each used once. Caller holds
 * v7_lock. */
static void
v7_random(void *out, size_t n)
{
        if (v7_pool_pos + n > sizeof(v7_pool)) {
                randombytes_buf(v7_pool, sizeof(v7_pool));
                v7_pool_pos = 0;
        }
        memcpy(out, v7_pool + v7_pool_pos, n);
        sodium_memzero(v7_pool + v7_pool_pos, n);
        v7_pool_pos += n;
}

static uint64_t
uuid_now_ms(void)
{
        struct timespec ts;

        clock_gettime(CLOCK_REALTIME, &ts);
        return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void
uuid_format(const unsigned char b[16], char out[UUID_STR_LEN])
{
        static const char hex[] = "0123456789abcdef";
        size_t o = 0;

        for (size_t i = 0; i < 16; i++) {
                if (i == 4 || i == 6 || i == 8 || i == 10)
                        out[o++] = '-';
                out[o++] = hex[b[i] >> 4];
                out[o++] = hex[b[i] & 0x0f];
        }
        out[o] = '\0';
}

/* v7_advance: moves the state past the last value. Caller holds v7_lock. */
static void
v7_advance(uint64_t now)
{
        uint64_t step;
        uint32_t r32;
        uint16_t r16;

        if (now > v7_ms) {
                v7_ms = now;
                v7_random(&v7_rand_b, sizeof(v7_rand_b));
                v7_rand_b &= RAND_B_MASK;
                /* Leave the top bit of rand_a clear: room to count. */
                v7_random(&r16, sizeof(r16));
                v7_rand_a = (uint16_t)(r16 & 0x7ffu);
                return;
        }
        v7_random(&r32, sizeof(r32)); /* a power of two: masking is fair */
        step = (uint64_t)(r32 & ((UINT32_C(1) << 24) - 1)) + 1;
        v7_rand_b += step;
        if (v7_rand_b <= RAND_B_MASK)
                return;
        v7_rand_b &= RAND_B_MASK;
        v7_rand_a = (uint16_t)((v7_rand_a + 1) & RAND_A_MASK);
        if (v7_rand_a == 0)
                v7_ms++;
}

void
uuid_v7(char out[UUID_STR_LEN])
{
        unsigned char b[16];
        uint64_t ms, rb;
        uint16_t ra;

        uuid_sodium_ready();
        pthread_mutex_lock(&v7_lock);
        v7_advance(uuid_now_ms());
        ms = v7_ms;
        ra = v7_rand_a;
        rb = v7_rand_b;
        pthread_mutex_unlock(&v7_lock);

        for (int i = 0; i < 6; i++)
                b[i] = (unsigned char)(ms >> (40 - 8 * i));
        b[6] = (unsigned char)(0x70 | (ra >> 8));
        b[7] = (unsigned char)(ra & 0xff);
        b[8] = (unsigned char)(0x80 | (rb >> 56));
        for (int i = 9; i < 16; i++)
                b[i] = (unsigned char)(rb >> (8 * (15 - i)));
        uuid_format(b, out);
}

int64_t
uuid_v7_ms(const char *s)
{
        char hex[13]; /* the first 48 bits: 12 digits, a hyphen after 8 */

        if (!uuid_valid(s) || s[14] != '7')
                return -1;
        memcpy(hex, s, 8);
        memcpy(hex + 8, s + 9, 4);
        hex[12] = '\0';
        return (int64_t)strtoll(hex, NULL, 16);
}

void
uuid_v4(char out[UUID_STR_LEN])
{
        unsigned char b[16];

        uuid_sodium_ready();
        randombytes_buf(b, sizeof(b));
        b[6] = (unsigned char)(0x40 | (b[6] & 0x0f));
        b[8] = (unsigned char)(0x80 | (b[8] & 0x3f));
        uuid_format(b, out);
}

static bool
uuid_is_hex(char c)
{
        return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') ||
               (c >= 'A' && c <= 'F');
}

/* uuid_all: true when every hex digit of s equals c (nil / max UUID). */
static bool
uuid_all(const char *s, char c)
{
        for (size_t i = 0; i < 36; i++) {
                if (s[i] != '-' && s[i] != c)
                        return false;
        }
        return true;
}

bool
uuid_valid(const char *s)
{
        char ver, var;

        if (s == NULL || strlen(s) != 36)
                return false;
        for (size_t i = 0; i < 36; i++) {
                bool dash = (i == 8 || i == 13 || i == 18 || i == 23);

                if (dash ? s[i] != '-' : !uuid_is_hex(s[i]))
                        return false;
        }
        if (uuid_all(s, '0') || uuid_all(s, 'f') || uuid_all(s, 'F'))
                return true;
        ver = s[14];
        var = s[19];
        if (ver < '1' || ver > '8')
                return false;
        return strchr("89abAB", var) != NULL;
}
