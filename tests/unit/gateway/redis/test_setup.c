/* test_setup.c - gateway/redis/setup.h: the ACL users' passwords.
 *
 * They derive from acl_secret alone (the same on every node), and never
 * from what the first scheme used: the first JWT key's material, which for
 * an RS/ES key is a public key anyone can read. */
#include <stdint.h>
#include <string.h>

#include "common/siphash.h"
#include "gateway/redis/setup.h"
#include "tests/unit/testhelp.h"

static const char URL[] = "redis://127.0.0.1:6379";
static const char SECRET_A[] = "acl-secret-A-acl-secret-A-0123456789";
static const char SECRET_B[] = "acl-secret-B-acl-secret-B-0123456789";

/* What a public RS256 key file holds: the first scheme's input. */
static const char PUBLIC_PEM[] =
    "-----BEGIN PUBLIC KEY-----\n"
    "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEx1cS1Zr4o0S3Q8m8m2kVj7n1kq9o\n"
    "-----END PUBLIC KEY-----\n";

/* The first scheme, reproduced: keys from the material under the labels
 * "tollgate-acl-k0!" / "tollgate-acl-k1!", then the same input layout. */
static void old_password(const void *material, size_t n, const char *url, const char *id,
                         char out[40])
{
    static const uint8_t k0[16] = "tollgate-acl-k0!", k1[16] = "tollgate-acl-k1!";
    uint8_t key[2][16];
    for (int i = 0; i < 2; i++) {
        uint64_t a = siphash24(i ? k1 : k0, material, n);
        uint64_t b = siphash24(i ? k0 : k1, material, n);
        memcpy(key[i], &a, 8);
        memcpy(key[i] + 8, &b, 8);
    }
    char in[1024];
    int len = snprintf(in, sizeof in, "%s%s%s", url, id ? "\n" : "", id ? id : "");
    uint64_t a = siphash24(key[0], in, (size_t)len);
    uint64_t b = siphash24(key[1], in, (size_t)len);
    snprintf(out, 40, "%016llx%016llx", (unsigned long long)a, (unsigned long long)b);
}

static void password(const char *secret, const char *id, char out[40])
{
    backend_setup_init(secret, strlen(secret), NULL);
    backend_acl_password(URL, id, out);
}

TEST(same_secret_same_password_on_every_node)
{
    char p1[40], p2[40], other[40];
    password(SECRET_A, NULL, p1);
    password(SECRET_B, NULL, other); /* another node, in between */
    password(SECRET_A, NULL, p2);
    CHECK_STR(p1, p2);
    CHECK(strlen(p1) == 32);
    password(SECRET_A, "db_1", p1);
    password(SECRET_A, "db_1", p2);
    CHECK_STR(p1, p2);
}

TEST(different_secret_different_password)
{
    const char *ids[] = {NULL, "-nobody", "db_1"};
    for (size_t i = 0; i < sizeof ids / sizeof ids[0]; i++) {
        char a[40], b[40];
        password(SECRET_A, ids[i], a);
        password(SECRET_B, ids[i], b);
        CHECK(strcmp(a, b) != 0);
    }
}

TEST(users_and_backends_get_their_own)
{
    char dp[40], nobody[40], db1[40], db2[40], other_url[40];
    password(SECRET_A, NULL, dp);
    password(SECRET_A, "-nobody", nobody);
    password(SECRET_A, "db_1", db1);
    password(SECRET_A, "db_2", db2);
    backend_acl_password("redis://127.0.0.1:6380", NULL, other_url);
    CHECK(strcmp(dp, nobody) && strcmp(dp, db1) && strcmp(db1, db2) && strcmp(nobody, db1));
    CHECK(strcmp(dp, other_url) != 0);
}

/* The finding: with an RS/ES key first in the keyring, the old password
 * was a function of public bytes. The new one is not, even when fed the
 * very same bytes (the derivation's labels are versioned). */
TEST(public_key_material_no_longer_derives_it)
{
    const char *ids[] = {NULL, "-nobody", "db_1"};
    for (size_t i = 0; i < sizeof ids / sizeof ids[0]; i++) {
        char old[40], now[40], same_bytes[40];
        old_password(PUBLIC_PEM, strlen(PUBLIC_PEM), URL, ids[i], old);
        password(SECRET_A, ids[i], now);
        CHECK(strcmp(old, now) != 0);
        password(PUBLIC_PEM, ids[i], same_bytes);
        CHECK(strcmp(old, same_bytes) != 0);
    }
}

/* The reproduction is the first scheme: this value came from the first
 * scheme's own code (commit f8b0476's setup.c, backend_setup_init("k", 1)
 * then backend_db_user(URL, "db_1")). */
TEST(old_scheme_reproduced)
{
    char old[40];
    old_password("k", 1, URL, "db_1", old);
    CHECK_STR(old, "0bb2e8d18687a4c4e30d2ad0de6a7fe4");
}

/* `test_setup --old-password KEYFILE URL [ID]`: prints the password the
 * first scheme derived when KEYFILE (as read whole: an RS/ES public key
 * file) came first in the keyring. tests/e2e/test_acl.sh checks that it no
 * longer signs in. */
static int print_old_password(char **argv, int argc)
{
    static char material[65536];
    FILE *f = fopen(argv[2], "rb");
    if (!f) return perror(argv[2]), 1;
    size_t n = fread(material, 1, sizeof material, f);
    fclose(f);
    char out[40];
    old_password(material, n, argv[3], argc > 4 ? argv[4] : NULL, out);
    printf("%s\n", out);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc >= 4 && !strcmp(argv[1], "--old-password")) return print_old_password(argv, argc);
    setvbuf(stdout, NULL, _IOLBF, 0);
    RUN(same_secret_same_password_on_every_node);
    RUN(different_secret_different_password);
    RUN(users_and_backends_get_their_own);
    RUN(public_key_material_no_longer_derives_it);
    RUN(old_scheme_reproduced);
    TEST_MAIN_END();
}
