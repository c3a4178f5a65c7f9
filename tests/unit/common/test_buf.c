/* test_buf.c - common/buf.h (growable buffer) and common/arena.h (bump
 * allocator). */
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>

#include "common/arena.h"
#include "common/buf.h"
#include "tests/unit/testhelp.h"

/* ==== buf ==== */

TEST(buf_growth_keeps_contents_and_nul)
{
    buf b;
    buf_init(&b);
    CHECK(b.data == NULL && b.len == 0 && b.cap == 0);
    for (int i = 0; i < 10000; i++) buf_putc(&b, (char)('a' + i % 26));
    CHECK(b.len == 10000);
    CHECK(b.cap > b.len);
    CHECK(b.data[b.len] == '\0');
    int ok = 1;
    for (int i = 0; i < 10000; i++) ok &= b.data[i] == (char)('a' + i % 26);
    CHECK(ok);
    /* Appends with embedded NULs count every byte. */
    buf_append(&b, "x\0y", 3);
    CHECK(b.len == 10003);
    CHECK_MEM(b.data + 10000, 3, "x\0y", 3);
    CHECK(b.data[b.len] == '\0');
    buf_release(&b);
    CHECK(b.data == NULL && b.len == 0 && b.cap == 0);
    buf_release(&b); /* twice is fine */
}

TEST(buf_reserve_gives_room)
{
    buf b;
    buf_init(&b);
    buf_puts(&b, "abc");
    buf_reserve(&b, 5000);
    CHECK(b.cap >= b.len + 5000 + 1);
    char *before = b.data;
    for (int i = 0; i < 5000; i++) buf_putc(&b, 'z');
    CHECK(b.data == before); /* no reallocation was needed */
    CHECK(b.len == 5003);
    CHECK(!memcmp(b.data, "abczz", 5));
    buf_release(&b);
}

/* An answer of known size takes exactly its bytes: 618 bytes must not
 * become a 1024-byte block (a "large" malloc request in glibc). */
TEST(buf_reserve_exact_takes_what_is_asked)
{
    buf b;
    buf_init(&b);
    buf_reserve_exact(&b, 618);
    CHECK(b.cap == 619);
    CHECK(b.len == 0 && b.data[0] == '\0');
    buf_puts(&b, "abc");
    buf_reserve_exact(&b, 615);  /* fits: nothing moves */
    CHECK(b.cap == 619);
    buf_reserve_exact(&b, 616);  /* grows to exactly len + extra + 1 */
    CHECK(b.cap == 620);
    CHECK_STR(b.data, "abc");
    buf_release(&b);
}

TEST(buf_printf_and_puts)
{
    buf b;
    buf_init(&b);
    buf_printf(&b, "%s=%d;", "n", 42);
    buf_puts(&b, "tail");
    CHECK_STR(b.data, "n=42;tail");
    CHECK(b.len == 9);
    /* Longer than the first allocation. */
    char big[300];
    memset(big, 'q', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    buf_printf(&b, "[%s]", big);
    CHECK(b.len == 9 + 2 + 299);
    CHECK(b.data[9] == '[' && b.data[b.len - 1] == ']');
    CHECK(b.data[b.len] == '\0');
    buf_release(&b);
}

TEST(buf_put_i64_edges)
{
    static const struct {
        long long v;
        const char *s;
    } cases[] = {
        {0, "0"},
        {7, "7"},
        {-1, "-1"},
        {10, "10"},
        {-100, "-100"},
        {LLONG_MAX, "9223372036854775807"},
        {LLONG_MIN, "-9223372036854775808"},
        {LLONG_MIN + 1, "-9223372036854775807"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        buf b;
        buf_init(&b);
        buf_putc(&b, '<');
        buf_put_i64(&b, cases[i].v);
        buf_putc(&b, '>');
        char want[32];
        snprintf(want, sizeof want, "<%s>", cases[i].s);
        CHECK_STR(b.data, want);
        buf_release(&b);
    }
}

TEST(buf_consume)
{
    buf b;
    buf_init(&b);
    buf_consume(&b, 3); /* empty, no storage: no crash */
    CHECK(b.len == 0);
    buf_puts(&b, "hello world");
    buf_consume(&b, 0);
    CHECK_STR(b.data, "hello world");
    buf_consume(&b, 6);
    CHECK_STR(b.data, "world");
    CHECK(b.len == 5);
    buf_consume(&b, 5);
    CHECK(b.len == 0);
    CHECK(b.data[0] == '\0');
    buf_puts(&b, "abc");
    buf_consume(&b, 1000); /* more than there is */
    CHECK(b.len == 0);
    CHECK(b.data[0] == '\0');
    buf_puts(&b, "again");
    CHECK_STR(b.data, "again");
    buf_release(&b);
}

TEST(buf_reset_keeps_storage)
{
    buf b;
    buf_init(&b);
    buf_reset(&b); /* no storage yet */
    buf_puts(&b, "something long enough");
    size_t cap = b.cap;
    buf_reset(&b);
    CHECK(b.len == 0 && b.cap == cap && b.data[0] == '\0');
    buf_release(&b);
}

TEST(buf_detach)
{
    buf b;
    buf_init(&b);
    buf_append(&b, "ab\0cd", 5);
    size_t len = 99;
    char *d = buf_detach(&b, &len);
    CHECK(len == 5);
    CHECK_MEM(d, len, "ab\0cd", 5);
    CHECK(d[5] == '\0');
    CHECK(b.data == NULL && b.len == 0 && b.cap == 0);
    free(d);

    /* Detaching a buffer that was never written still yields a C string
     * (the header promises contents are always followed by a NUL). */
    d = buf_detach(&b, &len);
    CHECK(d != NULL);
    CHECK(len == 0);
    if (d) CHECK(d[0] == '\0');
    free(d);

    /* len may be NULL. */
    buf_puts(&b, "x");
    d = buf_detach(&b, NULL);
    CHECK_STR(d, "x");
    free(d);
}

/* ==== arena ==== */

TEST(arena_alignment)
{
    arena a;
    arena_init(&a);
    static const size_t sizes[] = {1, 3, 15, 16, 17, 31, 100, 1, 7, 2000, 5, 0, 9};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        char *p = arena_alloc(&a, sizes[i]);
        CHECK(p != NULL);
        CHECK(((uintptr_t)p & 15) == 0);
        memset(p, 0xab, sizes[i]);
    }
    arena_release(&a);
}

TEST(arena_pointers_stay_valid)
{
    arena a;
    arena_init(&a);
    char *ptrs[200];
    for (int i = 0; i < 200; i++) {
        ptrs[i] = arena_alloc(&a, 100);
        memset(ptrs[i], i, 100);
    }
    int ok = 1;
    for (int i = 0; i < 200; i++)
        for (int k = 0; k < 100; k++) ok &= (unsigned char)ptrs[i][k] == (unsigned char)i;
    CHECK(ok);
    /* Distinct allocations never overlap. */
    for (int i = 1; i < 200; i++) CHECK(ptrs[i] != ptrs[i - 1]);
    arena_release(&a);
}

TEST(arena_big_allocations)
{
    arena a;
    arena_init(&a);
    char *small = arena_alloc(&a, 10);
    memcpy(small, "small", 6);
    static const size_t bigs[] = {16384, 16385, 20000, 1 << 20, 3};
    char *p[5];
    for (int i = 0; i < 5; i++) {
        p[i] = arena_alloc(&a, bigs[i]);
        CHECK(((uintptr_t)p[i] & 15) == 0);
        memset(p[i], 'A' + i, bigs[i]); /* ASan: the whole range is ours */
    }
    CHECK_STR(small, "small");
    for (int i = 0; i < 5; i++) {
        CHECK(p[i][0] == 'A' + i);
        CHECK(p[i][bigs[i] - 1] == 'A' + i);
    }
    arena_release(&a);
}

TEST(arena_strndup_keeps_nul_bytes)
{
    arena a;
    arena_init(&a);
    char *s = arena_strndup(&a, "a\0b\0c", 5);
    CHECK_MEM(s, 5, "a\0b\0c", 5);
    CHECK(s[5] == '\0');
    char *e = arena_strndup(&a, "ignored", 0);
    CHECK(e[0] == '\0');
    /* Copies only n bytes of a longer source. */
    char *t = arena_strndup(&a, "abcdef", 3);
    CHECK_STR(t, "abc");
    arena_release(&a);
}

TEST(arena_release_and_reuse)
{
    arena a;
    arena_init(&a);
    for (int round = 0; round < 3; round++) {
        for (int i = 0; i < 50; i++) memset(arena_alloc(&a, 1000), 1, 1000);
        arena_release(&a);
        /* Re-inited: the next small allocation comes from the inline
         * block again, and no block is left behind (LeakSanitizer). */
        CHECK(a.head == NULL);
        char *p = arena_alloc(&a, 8);
        CHECK(p >= a.first && p < a.first + sizeof a.first);
    }
    arena_release(&a);
    arena_release(&a); /* twice is fine */
}

int main(void)
{
    setvbuf(stdout, NULL, _IOLBF, 0); /* keep results if a sanitizer aborts */
    RUN(buf_growth_keeps_contents_and_nul);
    RUN(buf_reserve_gives_room);
    RUN(buf_reserve_exact_takes_what_is_asked);
    RUN(buf_printf_and_puts);
    RUN(buf_put_i64_edges);
    RUN(buf_consume);
    RUN(buf_reset_keeps_storage);
    RUN(buf_detach);
    RUN(arena_alignment);
    RUN(arena_pointers_stay_valid);
    RUN(arena_big_allocations);
    RUN(arena_strndup_keeps_nul_bytes);
    RUN(arena_release_and_reuse);
    TEST_MAIN_END();
}
