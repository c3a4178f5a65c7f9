/*
 * testhelp.h - the unit tests' assertion kit.
 *
 * TEST(name) { ... } defines a case; CHECK(cond) records a failure (with
 * file:line and the expression) and keeps going; CHECK_STR / CHECK_MEM
 * compare text. RUN(name) runs a case and prints one line, `PASS file:name`
 * or `FAIL file:name`, which tests/run.sh counts. TEST_MAIN_END returns
 * the exit status (1 if anything failed).
 */
#ifndef TG_TESTHELP_H
#define TG_TESTHELP_H

#include <stdio.h>
#include <string.h>

static int th_failed_cases, th_case_failed;

#define TEST(name) static void test_##name(void)

#define CHECK(cond)                                                          \
    do {                                                                     \
        if (!(cond)) {                                                       \
            th_case_failed = 1;                                              \
            fprintf(stderr, "  %s:%d: CHECK(%s) failed\n", __FILE__,         \
                    __LINE__, #cond);                                        \
        }                                                                    \
    } while (0)

#define CHECK_STR(got, want)                                                 \
    do {                                                                     \
        const char *g_ = (got), *w_ = (want);                                \
        if (!g_ || strcmp(g_, w_)) {                                         \
            th_case_failed = 1;                                              \
            fprintf(stderr, "  %s:%d: got '%s', want '%s'\n", __FILE__,      \
                    __LINE__, g_ ? g_ : "(null)", w_);                       \
        }                                                                    \
    } while (0)

#define CHECK_MEM(got, glen, want, wlen)                                     \
    do {                                                                     \
        if ((size_t)(glen) != (size_t)(wlen) ||                              \
            memcmp((got), (want), (size_t)(wlen))) {                         \
            th_case_failed = 1;                                              \
            fprintf(stderr, "  %s:%d: bytes differ (len %zu vs %zu)\n",      \
                    __FILE__, __LINE__, (size_t)(glen), (size_t)(wlen));     \
        }                                                                    \
    } while (0)

#define RUN(name)                                                            \
    do {                                                                     \
        th_case_failed = 0;                                                  \
        test_##name();                                                       \
        printf("%s %s:%s\n", th_case_failed ? "FAIL" : "PASS",               \
               th_file_tag(__FILE__), #name);                                \
        th_failed_cases += th_case_failed;                                   \
    } while (0)

#define TEST_MAIN_END() return th_failed_cases ? 1 : 0

static inline const char *th_file_tag(const char *path)
{
    const char *s = strrchr(path, '/');
    return s ? s + 1 : path;
}

#endif
