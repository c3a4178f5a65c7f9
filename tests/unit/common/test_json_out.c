/* test_json_out.c - common/json_out.h: the JSON string escaper. */
#include <stdio.h>
#include <string.h>

#include "common/buf.h"
#include "common/json_out.h"
#include "tests/unit/testhelp.h"

#define FFFD "\xef\xbf\xbd"

/* Escapes s[0..n) and compares with want (a C string). */
static int escapes_to(const char *s, size_t n, const char *want)
{
    buf b;
    buf_init(&b);
    json_out_string(&b, s, n);
    int ok = b.len == strlen(want) && !memcmp(b.data, want, b.len) && b.data[b.len] == '\0';
    if (!ok) fprintf(stderr, "  got [%.*s], want [%s]\n", (int)b.len, b.data, want);
    buf_release(&b);
    return ok;
}

#define IS(lit, want) CHECK(escapes_to((lit), sizeof(lit) - 1, (want)))

TEST(every_control_byte)
{
    for (int c = 0; c < 0x20; c++) {
        char in[1] = {(char)c}, want[16];
        if (c == '\n') strcpy(want, "\"\\n\"");
        else if (c == '\r') strcpy(want, "\"\\r\"");
        else if (c == '\t') strcpy(want, "\"\\t\"");
        else snprintf(want, sizeof want, "\"\\u%04x\"", c);
        CHECK(escapes_to(in, 1, want));
    }
    IS("\x7f", "\"\x7f\""); /* DEL is not a control character for JSON */
}

TEST(quotes_and_backslash)
{
    IS("\"", "\"\\\"\"");
    IS("\\", "\"\\\\\"");
    IS("a\"b\\c", "\"a\\\"b\\\\c\"");
    IS("\\u0041", "\"\\\\u0041\""); /* an escape in the input stays text */
    IS("</script>/", "\"</script>/\"");
}

TEST(printable_ascii_unchanged)
{
    char in[95], want[100];
    for (int i = 0; i < 95; i++) in[i] = (char)(0x20 + i);
    size_t k = 0;
    want[k++] = '"';
    for (int i = 0; i < 95; i++) {
        if (in[i] == '"' || in[i] == '\\') want[k++] = '\\';
        want[k++] = in[i];
    }
    want[k++] = '"';
    want[k] = '\0';
    CHECK(escapes_to(in, sizeof in, want));
}

TEST(utf8_passthrough)
{
    IS("\xc3\xa9t\xc3\xa9", "\"\xc3\xa9t\xc3\xa9\"");  /* é */
    IS("\xe2\x82\xac", "\"\xe2\x82\xac\"");             /* € */
    IS("\xf0\x9f\x98\x80", "\"\xf0\x9f\x98\x80\"");     /* 😀 */
    IS("\xc2\x80", "\"\xc2\x80\"");                     /* U+0080 */
    IS("\xed\x9f\xbf", "\"\xed\x9f\xbf\"");             /* U+D7FF */
    IS("\xf4\x8f\xbf\xbf", "\"\xf4\x8f\xbf\xbf\"");     /* U+10FFFF */
}

TEST(invalid_utf8_replaced)
{
    IS("\x80", "\"" FFFD "\"");                      /* stray continuation */
    IS("\xc0\xaf", "\"" FFFD FFFD "\"");             /* overlong '/' */
    IS("\xe0\x80\xaf", "\"" FFFD FFFD FFFD "\"");    /* overlong, 3 bytes */
    IS("\xed\xa0\x80", "\"" FFFD FFFD FFFD "\"");    /* surrogate U+D800 */
    IS("\xf4\x90\x80\x80", "\"" FFFD FFFD FFFD FFFD "\""); /* > U+10FFFF */
    IS("\xff", "\"" FFFD "\"");
    IS("a\xe2\x82", "\"a" FFFD FFFD "\"");           /* truncated at the end */
    IS("\xe2\x82\"", "\"" FFFD FFFD "\\\"\"");       /* truncated before a quote */
}

TEST(nul_inside_with_explicit_length)
{
    IS("a\0b", "\"a\\u0000b\"");
    IS("\0", "\"\\u0000\"");
    IS("", "\"\"");
    CHECK(escapes_to("abc", 1, "\"a\"")); /* only n bytes are read */
}

TEST(appends_after_existing_content)
{
    buf b;
    buf_init(&b);
    buf_puts(&b, "{\"k\":");
    json_out_string(&b, "v\n", 2);
    buf_putc(&b, '}');
    CHECK_STR(b.data, "{\"k\":\"v\\n\"}");
    buf_release(&b);
}

int main(void)
{
    RUN(every_control_byte);
    RUN(quotes_and_backslash);
    RUN(printable_ascii_unchanged);
    RUN(utf8_passthrough);
    RUN(invalid_utf8_replaced);
    RUN(nul_inside_with_explicit_length);
    RUN(appends_after_existing_content);
    TEST_MAIN_END();
}
