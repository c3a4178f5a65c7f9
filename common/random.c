/* random.c - see random.h. */
#include "common/random.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/random.h>

#include "common/hex.h"

void random_bytes(void *p, size_t n)
{
    uint8_t *d = p;
    while (n > 0) {
        ssize_t r = getrandom(d, n, 0);
        if (r < 0) {
            if (errno == EINTR) continue;
            perror("tollgate: getrandom");
            abort();
        }
        d += r;
        n -= (size_t)r;
    }
}

void random_hex(char *out, size_t n)
{
    uint8_t tmp[32];
    while (n > 0) {
        size_t k = n < sizeof tmp ? n : sizeof tmp;
        random_bytes(tmp, k);
        hex_encode(out, tmp, k);
        out += 2 * k;
        n -= k;
    }
    *out = '\0';
}
