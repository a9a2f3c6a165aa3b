/*
 * The test servers of testsrv.h, driven with libcurl as the processors
 * will: an object put into s3rver with SigV4 comes back byte for byte and
 * is listed, and a request S3 would refuse (wrong signature, key or payload
 * hash) is refused; a mail sent over SMTP is recorded with its envelope, subject
 * and body, AUTH is enforced when asked, and a rejection reaches the
 * client; a webhook POST is recorded and the receiver answers 500, 429 or
 * slowly when told to; each server stops on SIGTERM with exit code 0.
 */
#include "tests/integration/testsrv.h"
#include "tests/tests.h"

#include <curl/curl.h>
#include <stdlib.h>
#include <string.h>

static cluster_t c;
static int s3_port, smtp_port, smtp_auth_port, hook_port;

static const char seed_csv[] = "day,cost\n2024-01-01,12.50\n";

static int setup(void)
{
    if (cluster_prepare(&c, true) != 0)
        return 1;
    char seed[700], seed_arg[800];
    snprintf(seed, sizeof(seed), "%s/seed.csv", c.dir);
    FILE *f = fopen(seed, "w");
    if (f == NULL)
        return 1;
    fputs(seed_csv, f);
    fclose(f);
    snprintf(seed_arg, sizeof(seed_arg), "billing/2024/seed.csv=%s", seed);
    const char *s3_args[] = {"--bucket", "cvg-test", "--bucket", "other", "--seed", seed_arg, NULL};
    const char *auth_args[] = {"--auth", "cvg:s3cret", NULL};
    return testsrv_start(&c, "s3", s3_args, &s3_port) &&
                   testsrv_start(&c, "smtp", NULL, &smtp_port) &&
                   testsrv_start(&c, "smtp-auth", auth_args, &smtp_auth_port) &&
                   testsrv_start(&c, "webhook", NULL, &hook_port)
               ? 0
               : 1;
}

static int teardown(void)
{
    int bad = cluster_destroy(&c);
    return bad != 0;
}

static void test_s3_put_get_list(void)
{
    /* Binary-safe: a NUL and a high byte in the middle. */
    static const char object[] = "account,cost\nacme,42.10\n\0\xff tail";
    const char *const csv[] = {"Content-Type: text/csv", NULL};
    http_reply_t r;
    CU_ASSERT_EQUAL(testsrv_s3(s3_port, "PUT", "/cvg-test/exports/2024-01.csv", csv, object,
                               sizeof(object), &r),
                    200);
    http_reply_free(&r);

    CU_ASSERT_EQUAL(testsrv_s3(s3_port, "GET", "/cvg-test/exports/2024-01.csv", NULL, NULL, 0, &r),
                    200);
    CU_ASSERT_EQUAL(r.body.len, sizeof(object));
    CU_ASSERT(r.body.len == sizeof(object) && memcmp(r.body.data, object, sizeof(object)) == 0);
    char type[64] = "";
    CU_ASSERT_TRUE(http_reply_header(&r, "Content-Type", type, sizeof(type)));
    CU_ASSERT_STRING_EQUAL(type, "text/csv");
    http_reply_free(&r);

    /* The object seeded at start. */
    CU_ASSERT_EQUAL(
        testsrv_s3(s3_port, "GET", "/cvg-test/billing/2024/seed.csv", NULL, NULL, 0, &r), 200);
    CU_ASSERT_STRING_EQUAL(cvg_buf_cstr(&r.body), seed_csv);
    http_reply_free(&r);

    CU_ASSERT_EQUAL(testsrv_s3(s3_port, "GET", "/cvg-test?list-type=2", NULL, NULL, 0, &r), 200);
    const char *list = cvg_buf_cstr(&r.body);
    CU_ASSERT_PTR_NOT_NULL(strstr(list, "<KeyCount>2</KeyCount>"));
    CU_ASSERT_PTR_NOT_NULL(strstr(list, "<Key>billing/2024/seed.csv</Key>"));
    CU_ASSERT_PTR_NOT_NULL(strstr(list, "<Key>exports/2024-01.csv</Key>"));
    http_reply_free(&r);

    CU_ASSERT_EQUAL(testsrv_s3(s3_port, "GET", "/", NULL, NULL, 0, &r), 200);
    CU_ASSERT_PTR_NOT_NULL(strstr(cvg_buf_cstr(&r.body), "<Name>cvg-test</Name>"));
    CU_ASSERT_PTR_NOT_NULL(strstr(cvg_buf_cstr(&r.body), "<Name>other</Name>"));
    http_reply_free(&r);

    CU_ASSERT_EQUAL(testsrv_s3(s3_port, "GET", "/cvg-test/missing.csv", NULL, NULL, 0, &r), 404);
    CU_ASSERT_PTR_NOT_NULL(strstr(cvg_buf_cstr(&r.body), "NoSuchKey"));
    http_reply_free(&r);
}

#define EMPTY_SHA256 "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

static size_t keep(void *data, size_t size, size_t n, void *ud)
{
    return cvg_buf_append(ud, data, size * n) == 0 ? size * n : 0;
}

/* The seeded object, GET signed by libcurl as userpwd ("id:secret") with
 * this payload hash; the answer's body into body. */
static long s3_get_as(const char *userpwd, const char *payload_sha, cvg_buf_t *body)
{
    char url[200], sha[120];
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/cvg-test/billing/2024/seed.csv", s3_port);
    snprintf(sha, sizeof(sha), "x-amz-content-sha256: %s", payload_sha);
    struct curl_slist *hl = curl_slist_append(NULL, sha);
    CURL *h = curl_easy_init();
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_AWS_SIGV4, "aws:amz:us-east-1:s3");
    curl_easy_setopt(h, CURLOPT_USERPWD, userpwd);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hl);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, 10000L);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, keep);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, body);
    long status = 0;
    if (curl_easy_perform(h) == CURLE_OK)
        curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
    curl_slist_free_all(hl);
    curl_easy_cleanup(h);
    return status;
}

/* What S3 refuses, the store refuses too (s3rver alone checks no
 * signature): an unknown access key, the right key with a wrong secret, a
 * payload hash that is not the body's. The right secret gets the object. */
static void test_s3_refuses_what_s3_refuses(void)
{
    static const struct {
        const char *userpwd, *sha;
        long status;
        const char *code;
    } cases[] = {
        {"AKIAOTHER:secret", EMPTY_SHA256, 403, "<Code>InvalidAccessKeyId</Code>"},
        {TESTSRV_S3_KEY ":wrong", EMPTY_SHA256, 403, "<Code>SignatureDoesNotMatch</Code>"},
        {TESTSRV_S3_KEY ":" TESTSRV_S3_SECRET,
         "0000000000000000000000000000000000000000000000000000000000000000", 400,
         "<Code>XAmzContentSHA256Mismatch</Code>"},
        {TESTSRV_S3_KEY ":" TESTSRV_S3_SECRET, EMPTY_SHA256, 200, seed_csv},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        cvg_buf_t body;
        cvg_buf_init(&body, 1 << 16);
        CU_ASSERT_EQUAL(s3_get_as(cases[i].userpwd, cases[i].sha, &body), cases[i].status);
        CU_ASSERT_PTR_NOT_NULL(strstr(cvg_buf_cstr(&body), cases[i].code));
        cvg_buf_cleanup(&body);
    }
}

/* The store's signature check agrees with AWS's published signatures. */
static void test_s3_signature_check_matches_aws(void)
{
    char script[1200];
    snprintf(script, sizeof(script), "%s/tests/servers/s3.js", source_dir());
    char *argv[] = {"node", script, "--selftest", NULL};
    proc_t *p = cluster_spawn_argv(&c, "s3-selftest", argv, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    CU_ASSERT_EQUAL(cluster_wait_exit(&c, p, 20000), 0);
    CU_ASSERT_TRUE(cluster_wait_log(&c, "s3-selftest", "sigv4 selftest ok", 100));
}

typedef struct {
    const char *data;
    size_t left;
} upload_t;

static size_t upload_read(char *out, size_t size, size_t n, void *ud)
{
    upload_t *u = ud;
    size_t len = size * n < u->left ? size * n : u->left;
    memcpy(out, u->data, len);
    u->data += len;
    u->left -= len;
    return len;
}

/* Sends one mail as the email notification will; *code gets the last SMTP
 * reply code. */
static CURLcode send_mail(int port, const char *user, const char *password, long *code)
{
    static const char message[] = "Date: Mon, 01 Jan 2024 08:00:00 +0000\r\n"
                                  "From: Convergence <alerts@convergence.test>\r\n"
                                  "To: ops@example.test, finance@example.test\r\n"
                                  "Subject: Pipeline daily-costs failed\r\n"
                                  "Message-ID: <r-42@convergence.test>\r\n"
                                  "MIME-Version: 1.0\r\n"
                                  "Content-Type: text/plain; charset=utf-8\r\n"
                                  "\r\n"
                                  "The run r-42 failed at step load.\r\n"
                                  ".A line starting with a dot.\r\n";
    char url[100];
    snprintf(url, sizeof(url), "smtp://127.0.0.1:%d/convergence.test", port);
    struct curl_slist *rcpt = curl_slist_append(NULL, "<ops@example.test>");
    rcpt = curl_slist_append(rcpt, "<finance@example.test>");
    upload_t u = {message, sizeof(message) - 1};
    CURL *h = curl_easy_init();
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_MAIL_FROM, "<alerts@convergence.test>");
    curl_easy_setopt(h, CURLOPT_MAIL_RCPT, rcpt);
    curl_easy_setopt(h, CURLOPT_READFUNCTION, upload_read);
    curl_easy_setopt(h, CURLOPT_READDATA, &u);
    curl_easy_setopt(h, CURLOPT_UPLOAD, 1L);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, 10000L);
    if (user) {
        curl_easy_setopt(h, CURLOPT_USERNAME, user);
        curl_easy_setopt(h, CURLOPT_PASSWORD, password);
    }
    CURLcode rc = curl_easy_perform(h);
    *code = 0;
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, code);
    curl_slist_free_all(rcpt);
    curl_easy_cleanup(h);
    return rc;
}

static void test_smtp_records_each_message(void)
{
    long code;
    CU_ASSERT_EQUAL_FATAL(send_mail(smtp_port, NULL, NULL, &code), CURLE_OK);
    CU_ASSERT_EQUAL(code, 250);
    /* Recorded before the server said 250. */
    CU_ASSERT_EQUAL_FATAL(testsrv_count(&c, "smtp"), 1);
    json_t *m = testsrv_received(&c, "smtp", 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(m);
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(m, "mail_from")),
                           "alerts@convergence.test");
    json_t *rcpt = json_object_get(m, "rcpt_tos");
    CU_ASSERT_EQUAL(json_array_size(rcpt), 2);
    CU_ASSERT_STRING_EQUAL(json_string_value(json_array_get(rcpt, 0)), "ops@example.test");
    CU_ASSERT_STRING_EQUAL(json_string_value(json_array_get(rcpt, 1)), "finance@example.test");
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(m, "subject")),
                           "Pipeline daily-costs failed");
    const char *text = json_string_value(json_object_get(m, "text"));
    CU_ASSERT_PTR_NOT_NULL(text && strstr(text, "The run r-42 failed at step load."));
    /* libcurl dot-stuffed the line, the server took the dot off again. */
    CU_ASSERT_PTR_NOT_NULL(text && strstr(text, "\n.A line starting with a dot."));
    json_t *headers = json_object_get(m, "headers");
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(headers, "message-id")),
                           "<r-42@convergence.test>");
    const char *raw = json_string_value(json_object_get(m, "raw"));
    CU_ASSERT_PTR_NOT_NULL(raw && strstr(raw, "Subject: Pipeline daily-costs failed\r\n"));
    CU_ASSERT_TRUE(json_is_null(json_object_get(m, "auth_user")));
    json_decref(m);

    /* Told to refuse: the client sees the code, nothing is recorded. */
    CU_ASSERT_EQUAL(
        testsrv_set_reply(&c, "smtp", "{\"status\": 554, \"message\": \"5.7.1 refused\"}"), 0);
    CU_ASSERT_NOT_EQUAL(send_mail(smtp_port, NULL, NULL, &code), CURLE_OK);
    CU_ASSERT_EQUAL(code, 554);
    CU_ASSERT_EQUAL(testsrv_set_reply(&c, "smtp", NULL), 0);
    CU_ASSERT_EQUAL(send_mail(smtp_port, NULL, NULL, &code), CURLE_OK);
    CU_ASSERT_TRUE(testsrv_wait_count(&c, "smtp", 2, 1000));
    CU_ASSERT_EQUAL(testsrv_count(&c, "smtp"), 2);
}

static void test_smtp_auth_when_asked(void)
{
    long code;
    CU_ASSERT_NOT_EQUAL(send_mail(smtp_auth_port, NULL, NULL, &code), CURLE_OK);
    CU_ASSERT_EQUAL(code, 530); /* authentication required */
    CU_ASSERT_EQUAL(send_mail(smtp_auth_port, "cvg", "wrong", &code), CURLE_LOGIN_DENIED);
    CU_ASSERT_EQUAL(testsrv_count(&c, "smtp-auth"), 0);
    CU_ASSERT_EQUAL_FATAL(send_mail(smtp_auth_port, "cvg", "s3cret", &code), CURLE_OK);
    json_t *m = testsrv_received(&c, "smtp-auth", 0);
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(m, "auth_user")), "cvg");
    json_decref(m);
}

static void test_webhook_records_and_answers(void)
{
    const char *const hdrs[] = {"Content-Type: application/json", NULL};
    const char *path = "/services/T000/B000/XXXX";
    http_reply_t r;
    CU_ASSERT_EQUAL(http_call(hook_port, "POST", path, hdrs, "{\"text\":\"Pipeline failed\"}", &r),
                    200);
    CU_ASSERT_STRING_EQUAL(cvg_buf_cstr(&r.body), "ok");
    http_reply_free(&r);
    json_t *req = testsrv_received(&c, "webhook", 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(req);
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(req, "method")), "POST");
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(req, "path")), path);
    CU_ASSERT_STRING_EQUAL(
        json_string_value(json_object_get(json_object_get(req, "headers"), "content-type")),
        "application/json");
    json_t *body = json_loads(json_string_value(json_object_get(req, "body")), 0, NULL);
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(body, "text")), "Pipeline failed");
    json_decref(body);
    json_decref(req);

    /* A list: one answer per request, then the default again. */
    CU_ASSERT_EQUAL(testsrv_set_reply(&c, "webhook", "[{\"status\": 500, \"body\": \"oops\"}]"), 0);
    CU_ASSERT_EQUAL(http_call(hook_port, "POST", path, hdrs, "{}", &r), 500);
    CU_ASSERT_STRING_EQUAL(cvg_buf_cstr(&r.body), "oops");
    http_reply_free(&r);
    CU_ASSERT_EQUAL(http_call(hook_port, "POST", path, hdrs, "{}", &r), 200);
    http_reply_free(&r);

    /* An object: every request, headers included. */
    CU_ASSERT_EQUAL(testsrv_set_reply(&c, "webhook",
                                      "{\"status\": 429, \"headers\": {\"Retry-After\": \"7\"}}"),
                    0);
    for (int i = 0; i < 2; i++) {
        CU_ASSERT_EQUAL(http_call(hook_port, "POST", path, hdrs, "{}", &r), 429);
        char retry[16] = "";
        CU_ASSERT_TRUE(http_reply_header(&r, "Retry-After", retry, sizeof(retry)));
        CU_ASSERT_STRING_EQUAL(retry, "7");
        http_reply_free(&r);
    }

    /* A slow answer: the client's timeout fires, the request was recorded. */
    CU_ASSERT_EQUAL(testsrv_set_reply(&c, "webhook", "{\"delay_ms\": 3000}"), 0);
    char url[200];
    snprintf(url, sizeof(url), "http://127.0.0.1:%d%s", hook_port, path);
    CURL *h = curl_easy_init();
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, "{\"text\":\"slow\"}");
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, 300L);
    CU_ASSERT_EQUAL(curl_easy_perform(h), CURLE_OPERATION_TIMEDOUT);
    curl_easy_cleanup(h);
    CU_ASSERT_EQUAL(testsrv_set_reply(&c, "webhook", NULL), 0);
    CU_ASSERT_EQUAL(testsrv_count(&c, "webhook"), 6);
}

/* Each stops on SIGTERM with exit code 0, the webhook receiver while its
 * slow answer still waits. */
static void test_servers_stop_cleanly(void)
{
    static const char *const names[] = {"s3", "smtp", "smtp-auth", "webhook"};
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        CU_ASSERT_EQUAL(cluster_stop_proc(&c, cluster_proc(&c, names[i]), 5000), 0);
}

static CU_TestInfo tests[] = {
    {"test_s3_put_get_list", test_s3_put_get_list},
    {"test_s3_refuses_what_s3_refuses", test_s3_refuses_what_s3_refuses},
    {"test_s3_signature_check_matches_aws", test_s3_signature_check_matches_aws},
    {"test_smtp_records_each_message", test_smtp_records_each_message},
    {"test_smtp_auth_when_asked", test_smtp_auth_when_asked},
    {"test_webhook_records_and_answers", test_webhook_records_and_answers},
    {"test_servers_stop_cleanly", test_servers_stop_cleanly},
    CU_TEST_INFO_NULL,
};

const cvg_suite_t suite_testsrv = {"integration_testsrv", setup, teardown, tests, 60};
