/*
 * The operator's tail: one readable line per event with time, tenant,
 * pipeline, step, status, duration and rows; data-quality results with the
 * check and its message; control characters in names never reach the
 * terminal; the --json form carries the same facts.
 */
#include "logger/tail.h"
#include "tests/tests.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

static void event(cvg_event_t *ev, cvg_event_kind_t kind, const char *status)
{
    cvg_event_init(ev, kind);
    STRSET(ev->run_id, "01a2-run");
    STRSET(ev->tenant_id, "acme");
    STRSET(ev->pipeline_id, "gcp_cost_billing");
    STRSET(ev->status, status);
}

static void test_tail_lines(void)
{
    char line[2048];
    cvg_event_t ev;
    event(&ev, CVG_EV_STEP_FINISHED, "SUCCEEDED");
    STRSET(ev.step_id, "load_billing_export");
    ev.start_ms = 1000;
    ev.end_ms = 1117;
    ev.rows = 3153;
    lgr_tail_format(&ev, false, line, sizeof(line));
    CU_ASSERT_PTR_NOT_NULL(strstr(line, "  acme  gcp_cost_billing  step load_billing_export  "
                                        "SUCCEEDED  117 ms  rows=3153  run=01a2-run"));
    cvg_event_cleanup(&ev);

    event(&ev, CVG_EV_DQ_RESULT, "FAILED");
    STRSET(ev.step_id, "check");
    ev.detail = strdup("{\"check_name\": \"cost_present\", \"check_type\": \"not_null\", "
                       "\"passed\": false, \"severity\": \"error\", "
                       "\"message\": \"3 rows have NULL in cost\"}");
    lgr_tail_format(&ev, false, line, sizeof(line));
    CU_ASSERT_PTR_NOT_NULL(
        strstr(line, "dq   check cost_present  FAILED (error)  3 rows have NULL in cost"));
    cvg_event_cleanup(&ev);

    /* retries: a failed attempt says when the next comes, and the next
     * says which it is; so does a run taken back from a lost worker */
    event(&ev, CVG_EV_STEP_FINISHED, "FAILED");
    STRSET(ev.step_id, "announce");
    ev.attempt = 1;
    ev.detail = strdup("{\"status\": 500, \"retry_in_ms\": 1194}");
    lgr_tail_format(&ev, false, line, sizeof(line));
    CU_ASSERT_PTR_NOT_NULL(strstr(line, "step announce  FAILED  retry in 1.2 s  run=01a2-run"));
    cvg_event_cleanup(&ev);
    event(&ev, CVG_EV_STEP_STARTED, "RUNNING");
    STRSET(ev.step_id, "announce");
    ev.attempt = 2;
    lgr_tail_format(&ev, false, line, sizeof(line));
    CU_ASSERT_PTR_NOT_NULL(strstr(line, "step announce  RUNNING  attempt 2  run=01a2-run"));
    cvg_event_cleanup(&ev);
    event(&ev, CVG_EV_RUN_STARTED, "RUNNING");
    ev.attempt = 2;
    lgr_tail_format(&ev, false, line, sizeof(line));
    CU_ASSERT_PTR_NOT_NULL(strstr(line, "run  RUNNING  attempt 2"));
    cvg_event_cleanup(&ev);

    /* a name with an escape sequence is shown, not obeyed */
    event(&ev, CVG_EV_RUN_FINISHED, "FAILED");
    STRSET(ev.tenant_id, "ac\033[2Jme");
    ev.error = strdup("step s failed:\nboom");
    lgr_tail_format(&ev, true, line, sizeof(line));
    CU_ASSERT_PTR_NULL(strstr(line, "\033[2J"));
    CU_ASSERT_PTR_NOT_NULL(strstr(line, "error:"));
    cvg_event_cleanup(&ev);
}

static void test_tail_json(void)
{
    char line[2048];
    cvg_event_t ev;
    event(&ev, CVG_EV_RUN_STARTED, "RUNNING");
    STRSET(ev.trigger_type, "manual");
    lgr_tail_format_json(&ev, line, sizeof(line));
    json_t *o = json_loads(line, 0, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(o);
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(o, "kind")), "run_started");
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(o, "tenant_id")), "acme");
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(o, "status")), "RUNNING");
    json_decref(o);
    cvg_event_cleanup(&ev);
}

static CU_TestInfo tests[] = {
    {"test_tail_lines", test_tail_lines},
    {"test_tail_json", test_tail_json},
    CU_TEST_INFO_NULL,
};

const cvg_suite_t suite_tail = {"unit_tail", NULL, NULL, tests, 30};
