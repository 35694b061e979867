/*
 * signpost-keygen: makes the platform's key files.
 *
 *   signpost-keygen box PREFIX    X25519 keypair for sealed boxes:
 *                                 PREFIX.pk (base64, 0644), PREFIX.sk (0600)
 *   signpost-keygen sign PREFIX   Ed25519 keypair: PREFIX.sign.pk/.sign.sk
 *   signpost-keygen key FILE      32 random bytes as base64, 0600
 *
 * Prints the public key (base64url) on stdout, so a partner organisation
 * can register it. Never overwrites an existing file.
 */
#include <fcntl.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "err.h"
#include "secret.h"

static int
write_new(const char *path, const char *text, mode_t mode)
{
        int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, mode);
        size_t len = strlen(text);

        if (fd < 0) {
                perror(path);
                return -1;
        }
        if (write(fd, text, len) != (ssize_t)len || write(fd, "\n", 1) != 1) {
                perror(path);
                close(fd);
                return -1;
        }
        return close(fd);
}

/* save_pair: writes base64 of pk and sk beside prefix with the suffixes. */
static int
save_pair(const char *prefix, const char *suffix, const unsigned char *pk,
          size_t pklen, const unsigned char *sk, size_t sklen)
{
        char path[1024];
        char *pkt = secret_b64_encode(pk, pklen);
        char *skt = secret_b64_encode(sk, sklen);
        int rc = -1;

        snprintf(path, sizeof(path), "%s%s.sk", prefix, suffix);
        if (skt == NULL || pkt == NULL || write_new(path, skt, 0600) != 0)
                goto out;
        snprintf(path, sizeof(path), "%s%s.pk", prefix, suffix);
        if (write_new(path, pkt, 0644) != 0)
                goto out;
        printf("%s\n", pkt);
        rc = 0;
out:
        if (skt != NULL)
                sodium_memzero(skt, strlen(skt));
        free(skt);
        free(pkt);
        return rc;
}

static int
box(const char *prefix)
{
        unsigned char pk[crypto_box_PUBLICKEYBYTES];
        unsigned char sk[crypto_box_SECRETKEYBYTES];
        int rc;

        crypto_box_keypair(pk, sk);
        rc = save_pair(prefix, "", pk, sizeof(pk), sk, sizeof(sk));
        sodium_memzero(sk, sizeof(sk));
        return rc;
}

static int
sign(const char *prefix)
{
        unsigned char pk[crypto_sign_PUBLICKEYBYTES];
        unsigned char sk[crypto_sign_SECRETKEYBYTES];
        int rc;

        crypto_sign_keypair(pk, sk);
        rc = save_pair(prefix, ".sign", pk, sizeof(pk), sk, sizeof(sk));
        sodium_memzero(sk, sizeof(sk));
        return rc;
}

int
main(int argc, char **argv)
{
        struct err e = {0};

        if (sodium_init() < 0)
                return 1;
        if (argc == 3 && strcmp(argv[1], "box") == 0)
                return box(argv[2]) == 0 ? 0 : 1;
        if (argc == 3 && strcmp(argv[1], "sign") == 0)
                return sign(argv[2]) == 0 ? 0 : 1;
        if (argc == 3 && strcmp(argv[1], "key") == 0) {
                if (secret_key_file_new(argv[2], 32, &e) != 0) {
                        fprintf(stderr, "%s: %s\n", argv[2], e.msg);
                        return 1;
                }
                return 0;
        }
        fprintf(stderr, "usage: signpost-keygen box|sign PREFIX | key FILE\n");
        return 2;
}
