/*
 * Structured logging: every line is one valid JSON object with the
 * context fields, even when the message is too long for a line.
 */
#include "common/log.h"
#include "tests/tests.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Runs fn with stderr going to a temporary file; returns what was written. */
static char *capture(void (*fn)(void))
{
    char path[] = "/tmp/cvg-log-XXXXXX";
    int fd = mkstemp(path);
    int saved = dup(STDERR_FILENO);
    dup2(fd, STDERR_FILENO);
    fn();
    fflush(stderr);
    dup2(saved, STDERR_FILENO);
    close(saved);
    off_t len = lseek(fd, 0, SEEK_END);
    char *out = calloc(1, (size_t)len + 1);
    pread(fd, out, (size_t)len, 0);
    close(fd);
    unlink(path);
    return out;
}

static void write_lines(void)
{
    cvg_log_init("testproc", CVG_LOG_INFO);
    cvg_log_ctx_t ctx = {.tenant_id = "acme", .run_id = "r-1", .step_id = "load"};
    cvg_log_field_t f[2] = {CVG_LF_STR("path", "/a\"b"), CVG_LF_NUM("rows", 42)};
    cvg_log_write(CVG_LOG_INFO, &ctx, f, 2, "hello %s", "world\n");
    cvg_debug(NULL, "hidden at INFO");
    char big[4000];
    memset(big, '\x01', sizeof(big) - 1); /* 6 bytes each once escaped */
    big[sizeof(big) - 1] = '\0';
    cvg_log_field_t g = CVG_LF_STR("blob", big);
    cvg_log_write(CVG_LOG_ERROR, &ctx, &g, 1, "%s", big);
}

static void test_log_lines_are_json(void)
{
    char *out = capture(write_lines);
    int lines = 0;
    char *save = NULL;
    for (char *line = strtok_r(out, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        json_t *o = json_loads(line, 0, NULL);
        CU_ASSERT_PTR_NOT_NULL(o);
        if (lines == 0) {
            CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(o, "msg")), "hello world\n");
            CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(o, "level")), "info");
            CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(o, "process")), "testproc");
            CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(o, "tenant_id")), "acme");
            CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(o, "step_id")), "load");
            CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(o, "path")), "/a\"b");
            CU_ASSERT_EQUAL(json_integer_value(json_object_get(o, "rows")), 42);
            CU_ASSERT_PTR_NOT_NULL(json_object_get(o, "time"));
        } else {
            CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(o, "level")), "error");
            CU_ASSERT_PTR_NOT_NULL(strstr(json_string_value(json_object_get(o, "msg")), "dropped"));
        }
        json_decref(o);
        lines++;
    }
    CU_ASSERT_EQUAL(lines, 2); /* the debug line is not written at INFO */
    free(out);
}

static CU_TestInfo tests[] = {
    {"test_log_lines_are_json", test_log_lines_are_json},
    CU_TEST_INFO_NULL,
};

const cvg_suite_t suite_log = {"unit_log", NULL, NULL, tests, 30};
