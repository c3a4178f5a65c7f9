/* test_request_id.c - which incoming X-Request-Id values are kept. */
#include <string.h>

#include "gateway/http/request.h"
#include "tests/unit/testhelp.h"

TEST(kept)
{
    CHECK(request_id_well_formed("a"));
    CHECK(request_id_well_formed("abc-123_x.y:Z"));
    CHECK(request_id_well_formed("0123456789012345678901234567890123456789012345678901234567890123"));
}

TEST(replaced)
{
    CHECK(!request_id_well_formed(""));
    CHECK(!request_id_well_formed("has space"));
    CHECK(!request_id_well_formed("quo\"te"));
    CHECK(!request_id_well_formed("new\nline"));
    CHECK(!request_id_well_formed("caf\xc3\xa9"));
    CHECK(!request_id_well_formed("semi;colon"));
    CHECK(!request_id_well_formed("01234567890123456789012345678901234567890123456789012345678901234"));
}

int main(void)
{
    RUN(kept);
    RUN(replaced);
    TEST_MAIN_END();
}
