/*
 * E-mail messages (common/mail.h): addresses and mailboxes, header
 * injection refused in every header value, RFC 2047 subjects split at
 * character boundaries and folded, long ASCII subjects folded so that
 * unfolding gives them back, 7bit bodies with CRLF line ends and their
 * dot lines left for the transport to stuff, quoted-printable bodies for
 * the rest, and the size limit.
 */
#include "common/crypto.h"
#include "common/mail.h"
#include "common/str.h"
#include "tests/tests.h"

#include <stdlib.h>
#include <string.h>

static void test_mail_addresses(void)
{
    static const char *const good[] = {
        "ops@example.test",
        "first.last+tag@sub.example.co.uk",
        "a@b",
        "o'brien@example.test",
        "x_y-z@a-b.example",
        "{weird}@example.test",
    };
    static const char *const bad[] = {
        "",
        "ops",
        "@example.test",
        "ops@",
        "ops@@example.test",
        "op s@example.test",
        ".ops@example.test",
        "ops.@example.test",
        "o..ps@example.test",
        "ops@-example.test",
        "ops@example-.test",
        "ops@example..test",
        "ops@example.test.",
        "ops@exa_mple.test",
        "ops@[127.0.0.1]",
        "\"ops\"@example.test",
        "ops@example.test>",
        "<ops@example.test>",
        "ops@example.test\r\nBcc: x@y",
        "opé@example.test",
        "ops@exämple.test",
        "a,b@example.test",
    };
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        if (!cvg_mail_addr_ok(good[i]))
            printf("\n  refused: %s\n", good[i]);
        CU_ASSERT_TRUE(cvg_mail_addr_ok(good[i]));
    }
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        if (cvg_mail_addr_ok(bad[i]))
            printf("\n  accepted: %s\n", bad[i]);
        CU_ASSERT_FALSE(cvg_mail_addr_ok(bad[i]));
    }
    char long_local[80];
    memset(long_local, 'a', 65);
    snprintf(long_local + 65, sizeof(long_local) - 65, "@x.test");
    CU_ASSERT_FALSE(cvg_mail_addr_ok(long_local));
    CU_ASSERT_FALSE(cvg_mail_addr_ok(NULL));

    char name[CVG_MAIL_NAME_MAX + 1], addr[CVG_MAIL_ADDR_MAX + 1];
    cvg_err_t err;
    CU_ASSERT_EQUAL(cvg_mail_mailbox("alerts@convergence.test", name, addr, &err), 0);
    CU_ASSERT_STRING_EQUAL(name, "");
    CU_ASSERT_STRING_EQUAL(addr, "alerts@convergence.test");
    CU_ASSERT_EQUAL(
        cvg_mail_mailbox("  Convergence Alerts <alerts@convergence.test>", name, addr, &err), 0);
    CU_ASSERT_STRING_EQUAL(name, "Convergence Alerts");
    CU_ASSERT_STRING_EQUAL(addr, "alerts@convergence.test");
    CU_ASSERT_EQUAL(cvg_mail_mailbox("\"Ops, Finance\" <ops@example.test>", name, addr, &err), 0);
    CU_ASSERT_STRING_EQUAL(name, "Ops, Finance");
    CU_ASSERT_EQUAL(cvg_mail_mailbox("Ops <ops@example.test", name, addr, &err), CVG_EINVAL);
    CU_ASSERT_EQUAL(cvg_mail_mailbox("Ops <ops@example.test> x", name, addr, &err), CVG_EINVAL);
    CU_ASSERT_EQUAL(cvg_mail_mailbox("Ops <not an address>", name, addr, &err), CVG_EINVAL);
    CU_ASSERT_EQUAL(cvg_mail_mailbox("Ops\r\nBcc: x@y <ops@example.test>", name, addr, &err),
                    CVG_EINVAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.message, "header injection refused"));
}

static const char *const to1[] = {"ops@example.test"};

static cvg_mail_t base_mail(void)
{
    return (cvg_mail_t){.from = "Convergence <alerts@convergence.test>",
                        .to = to1,
                        .nto = 1,
                        .subject = "Pipeline daily failed",
                        .body = "Hello\n",
                        .message_id = "<0192-abc@convergence.test>",
                        .date_ms = 0};
}

/* Builds m; returns the code, the message in out (cvg_buf_cleanup it). */
static int build(const cvg_mail_t *m, cvg_buf_t *out, cvg_err_t *err)
{
    cvg_buf_init(out, CVG_MAIL_MAX_BYTES);
    cvg_err_clear(err);
    return cvg_mail_build(m, out, err);
}

static void test_mail_header_injection_refused(void)
{
    static const struct {
        const char *field, *value;
    } cases[] = {
        {"subject", "Report\r\nBcc: thief@evil.test"},
        {"subject", "Report\nBcc: thief@evil.test"},
        {"subject", "Report\rX-Evil: 1"},
        {"subject", "Tab\tand bell\a"},
        {"from", "alerts@convergence.test\r\nBcc: thief@evil.test"},
        {"message_id", "<a@b>\r\nBcc: thief@evil.test"},
        {"to", "ops@example.test\r\nBcc: thief@evil.test"},
        {"cc", "ops@example.test\nBcc: thief@evil.test"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        cvg_mail_t m = base_mail();
        const char *list[1] = {cases[i].value};
        if (strcmp(cases[i].field, "subject") == 0)
            m.subject = cases[i].value;
        else if (strcmp(cases[i].field, "from") == 0)
            m.from = cases[i].value;
        else if (strcmp(cases[i].field, "message_id") == 0)
            m.message_id = cases[i].value;
        else if (strcmp(cases[i].field, "to") == 0)
            m.to = list;
        else {
            m.cc = list;
            m.ncc = 1;
        }
        cvg_buf_t out;
        cvg_err_t err;
        CU_ASSERT_EQUAL(build(&m, &out, &err), CVG_EINVAL);
        CU_ASSERT_EQUAL(out.len, 0); /* nothing built */
        CU_ASSERT_PTR_NOT_NULL(strstr(err.message, cases[i].field));
        if (strpbrk(cases[i].value, "\r\n") &&
            strstr(err.message, "line break (header injection refused)") == NULL)
            printf("\n  %s: %s\n", cases[i].field, err.message);
        cvg_buf_cleanup(&out);
    }
    /* bad addresses and ids */
    cvg_mail_t m = base_mail();
    const char *bad_to[] = {"ops@example.test", "not-an-address"};
    m.to = bad_to;
    m.nto = 2;
    cvg_buf_t out;
    cvg_err_t err;
    CU_ASSERT_EQUAL(build(&m, &out, &err), CVG_EINVAL);
    CU_ASSERT_STRING_EQUAL(err.message, "to[1]: 'not-an-address' is not an e-mail address");
    cvg_buf_cleanup(&out);
    m = base_mail();
    m.nto = 0;
    CU_ASSERT_EQUAL(build(&m, &out, &err), CVG_EINVAL);
    cvg_buf_cleanup(&out);
    m = base_mail();
    m.message_id = "<no at sign>";
    CU_ASSERT_EQUAL(build(&m, &out, &err), CVG_EINVAL);
    cvg_buf_cleanup(&out);
    m = base_mail();
    m.subject = "bad \xc3\x28 utf-8";
    CU_ASSERT_EQUAL(build(&m, &out, &err), CVG_EINVAL);
    CU_ASSERT_STRING_EQUAL(err.message, "subject: not UTF-8");
    cvg_buf_cleanup(&out);
    m = base_mail();
    m.body = "overlong \xc0\xaf slash";
    CU_ASSERT_EQUAL(build(&m, &out, &err), CVG_EINVAL);
    CU_ASSERT_STRING_EQUAL(err.message, "body: not UTF-8");
    cvg_buf_cleanup(&out);
}

/* The value of header name in a built message, unfolded (CRLF + space
 * taken out); "" when absent. */
static void header_of(const char *msg, const char *name, char *out, size_t size)
{
    char key[64];
    snprintf(key, sizeof(key), "\r\n%s: ", name);
    const char *p = strncmp(msg, key + 2, strlen(key) - 2) == 0 ? msg + strlen(key) - 2 : NULL;
    if (p == NULL) {
        p = strstr(msg, key);
        p = p ? p + strlen(key) : NULL;
    }
    size_t n = 0;
    while (p && *p && n + 1 < size) {
        if (p[0] == '\r' && p[1] == '\n' && (p[2] == ' ' || p[2] == '\t')) {
            p += 2;
            continue;
        }
        if (p[0] == '\r' && p[1] == '\n')
            break;
        out[n++] = *p++;
    }
    out[n] = '\0';
}

/* No line of msg's header block longer than max. */
static bool header_lines_within(const char *msg, size_t max)
{
    const char *end = strstr(msg, "\r\n\r\n");
    for (const char *p = msg; p < end;) {
        const char *nl = strstr(p, "\r\n");
        if ((size_t)(nl - p) > max)
            return false;
        p = nl + 2;
    }
    return true;
}

/* Decodes a run of "=?UTF-8?B?...?=" words (folding between them). */
static char *decode_words(const char *v)
{
    char *out = calloc(1, strlen(v) + 1);
    size_t n = 0;
    const char *p = v;
    while ((p = strstr(p, "=?UTF-8?B?")) != NULL) {
        p += 10;
        const char *e = strstr(p, "?=");
        char b64[100] = "";
        memcpy(b64, p, (size_t)(e - p));
        size_t len = 0;
        unsigned char *raw = cvg_base64_decode(b64, &len);
        CU_ASSERT_PTR_NOT_NULL_FATAL(raw);
        memcpy(out + n, raw, len);
        n += len;
        /* each word alone is whole characters */
        char *one = calloc(1, len + 1);
        memcpy(one, raw, len);
        CU_ASSERT_TRUE(cvg_mail_utf8_ok(one));
        free(one);
        free(raw);
        CU_ASSERT(e - p + 12 <= 75); /* RFC 2047: at most 75 characters a word */
        p = e + 2;
    }
    return out;
}

static void test_mail_rfc2047_subjects(void)
{
    static const char *const subjects[] = {
        "Coût du pipeline: FAILED",
        "日本語のパイプラインが失敗しました — 請求データの読み込みに失敗 (テナント acme)",
        "emoji \xf0\x9f\x98\x80\xf0\x9f\x98\x80\xf0\x9f\x98\x80\xf0\x9f\x98\x80\xf0\x9f\x98\x80"
        "\xf0\x9f\x98\x80\xf0\x9f\x98\x80\xf0\x9f\x98\x80\xf0\x9f\x98\x80\xf0\x9f\x98\x80 end",
        "looks like =?UTF-8?B?encoded?= but is plain ASCII",
    };
    for (size_t i = 0; i < sizeof(subjects) / sizeof(subjects[0]); i++) {
        cvg_mail_t m = base_mail();
        m.subject = subjects[i];
        cvg_buf_t out;
        cvg_err_t err;
        CU_ASSERT_EQUAL_FATAL(build(&m, &out, &err), 0);
        char v[4096];
        header_of(cvg_buf_cstr(&out), "Subject", v, sizeof(v));
        CU_ASSERT(strncmp(v, "=?UTF-8?B?", 10) == 0);
        char *decoded = decode_words(v);
        CU_ASSERT_STRING_EQUAL(decoded, subjects[i]);
        free(decoded);
        CU_ASSERT_TRUE(header_lines_within(cvg_buf_cstr(&out), 78));
        cvg_buf_cleanup(&out);
    }
    /* a non-ASCII display name too */
    cvg_mail_t m = base_mail();
    m.from = "Équipe FinOps <alerts@convergence.test>";
    cvg_buf_t out;
    cvg_err_t err;
    CU_ASSERT_EQUAL_FATAL(build(&m, &out, &err), 0);
    char v[512];
    header_of(cvg_buf_cstr(&out), "From", v, sizeof(v));
    CU_ASSERT_STRING_EQUAL(v, "=?UTF-8?B?w4lxdWlwZSBGaW5PcHM=?= <alerts@convergence.test>");
    cvg_buf_cleanup(&out);
    m.from = "Ops, \"Finance\" <alerts@convergence.test>";
    CU_ASSERT_EQUAL_FATAL(build(&m, &out, &err), 0);
    header_of(cvg_buf_cstr(&out), "From", v, sizeof(v));
    CU_ASSERT_STRING_EQUAL(v, "\"Ops, \\\"Finance\\\"\" <alerts@convergence.test>");
    cvg_buf_cleanup(&out);
}

static void test_mail_headers_and_folding(void)
{
    char subject[700] = "";
    for (int i = 0; i < 40; i++)
        snprintf(subject + strlen(subject), sizeof(subject) - strlen(subject), "%sword%02d",
                 i ? (i % 7 ? " " : "  ") : "", i);
    const char *to[] = {"ops@example.test", "finance@example.test"};
    const char *cc[] = {"audit@example.test"};
    cvg_mail_t m = base_mail();
    m.subject = subject;
    m.to = to;
    m.nto = 2;
    m.cc = cc;
    m.ncc = 1;
    m.date_ms = 1764000000000; /* 2025-11-24 16:00:00 UTC, a Monday */
    cvg_buf_t out;
    cvg_err_t err;
    CU_ASSERT_EQUAL_FATAL(build(&m, &out, &err), 0);
    const char *msg = cvg_buf_cstr(&out);
    CU_ASSERT(strncmp(msg, "Date: Mon, 24 Nov 2025 16:00:00 +0000\r\n", 39) == 0);
    char v[1024];
    header_of(msg, "Subject", v, sizeof(v));
    CU_ASSERT_STRING_EQUAL(v, subject); /* unfolding gives it back, double spaces and all */
    CU_ASSERT_TRUE(header_lines_within(msg, 78));
    header_of(msg, "From", v, sizeof(v));
    CU_ASSERT_STRING_EQUAL(v, "Convergence <alerts@convergence.test>");
    header_of(msg, "To", v, sizeof(v));
    CU_ASSERT_STRING_EQUAL(v, "ops@example.test, finance@example.test");
    header_of(msg, "Cc", v, sizeof(v));
    CU_ASSERT_STRING_EQUAL(v, "audit@example.test");
    header_of(msg, "Message-ID", v, sizeof(v));
    CU_ASSERT_STRING_EQUAL(v, "<0192-abc@convergence.test>");
    header_of(msg, "MIME-Version", v, sizeof(v));
    CU_ASSERT_STRING_EQUAL(v, "1.0");
    header_of(msg, "Content-Type", v, sizeof(v));
    CU_ASSERT_STRING_EQUAL(v, "text/plain; charset=utf-8");
    header_of(msg, "Content-Transfer-Encoding", v, sizeof(v));
    CU_ASSERT_STRING_EQUAL(v, "7bit");
    CU_ASSERT_PTR_NULL(strstr(msg, "Bcc"));
    cvg_buf_cleanup(&out);
}

/* Lines starting with a dot are left as written: libcurl stuffs them
 * while sending (tests/integration/test_outbound.c reads them back). */
static void test_mail_body_7bit_and_dot_lines(void)
{
    cvg_mail_t m = base_mail();
    m.body = "first line\n.a line with a leading dot\n.\n..two dots\r\nlast, no newline";
    cvg_buf_t out;
    cvg_err_t err;
    CU_ASSERT_EQUAL_FATAL(build(&m, &out, &err), 0);
    const char *body = strstr(cvg_buf_cstr(&out), "\r\n\r\n") + 4;
    CU_ASSERT_STRING_EQUAL(body, "first line\r\n.a line with a leading dot\r\n.\r\n..two dots\r\n"
                                 "last, no newline\r\n");
    cvg_buf_cleanup(&out);
    m.body = "";
    CU_ASSERT_EQUAL_FATAL(build(&m, &out, &err), 0);
    CU_ASSERT_TRUE(cvg_str_ends(cvg_buf_cstr(&out), "Auto-Submitted: auto-generated\r\n\r\n"));
    cvg_buf_cleanup(&out);
}

/* Undoes quoted-printable. */
static char *qp_decode(const char *s)
{
    char *out = calloc(1, strlen(s) + 1);
    size_t n = 0;
    while (*s) {
        if (s[0] == '=' && s[1] == '\r' && s[2] == '\n') {
            s += 3;
        } else if (s[0] == '=') {
            char hex[3] = {s[1], s[2], 0};
            out[n++] = (char)strtol(hex, NULL, 16);
            s += 3;
        } else {
            out[n++] = *s++;
        }
    }
    return out;
}

static void test_mail_body_quoted_printable(void)
{
    char long_line[1200];
    memset(long_line, 'x', 1100);
    long_line[1100] = '\0';
    char body[4096];
    snprintf(body, sizeof(body), "Coût total: 12,50 €\n= sign and trailing space \n%s\n.dot\n",
             long_line);
    cvg_mail_t m = base_mail();
    m.body = body;
    cvg_buf_t out;
    cvg_err_t err;
    CU_ASSERT_EQUAL_FATAL(build(&m, &out, &err), 0);
    const char *msg = cvg_buf_cstr(&out);
    char v[100];
    header_of(msg, "Content-Transfer-Encoding", v, sizeof(v));
    CU_ASSERT_STRING_EQUAL(v, "quoted-printable");
    const char *qp = strstr(msg, "\r\n\r\n") + 4;
    /* every line within 76 characters, only ASCII */
    for (const char *p = qp; *p;) {
        const char *nl = strstr(p, "\r\n");
        CU_ASSERT_FATAL(nl != NULL);
        CU_ASSERT(nl - p <= 76);
        CU_ASSERT(nl == p || (nl[-1] != ' ' && nl[-1] != '\t'));
        for (const char *q = p; q < nl; q++)
            CU_ASSERT((unsigned char)*q >= 0x20 && (unsigned char)*q < 0x7f);
        p = nl + 2;
    }
    CU_ASSERT_PTR_NOT_NULL(strstr(qp, "=3D sign"));
    CU_ASSERT_PTR_NOT_NULL(strstr(qp, "trailing space=20\r\n"));
    char *decoded = qp_decode(qp);
    char expected[4096];
    snprintf(expected, sizeof(expected),
             "Coût total: 12,50 €\r\n= sign and trailing space \r\n%s\r\n.dot\r\n", long_line);
    CU_ASSERT_STRING_EQUAL(decoded, expected);
    free(decoded);
    cvg_buf_cleanup(&out);
}

static void test_mail_size_limit(void)
{
    cvg_mail_t m = base_mail();
    char *big = malloc(4096);
    memset(big, 'y', 4095);
    big[4095] = '\0';
    m.body = big;
    cvg_buf_t out;
    cvg_buf_init(&out, 1024);
    cvg_err_t err;
    CU_ASSERT_EQUAL(cvg_mail_build(&m, &out, &err), CVG_ETOOBIG);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.message, "larger than 1024 bytes"));
    cvg_buf_cleanup(&out);
    free(big);
}

static CU_TestInfo tests[] = {
    {"test_mail_addresses", test_mail_addresses},
    {"test_mail_header_injection_refused", test_mail_header_injection_refused},
    {"test_mail_rfc2047_subjects", test_mail_rfc2047_subjects},
    {"test_mail_headers_and_folding", test_mail_headers_and_folding},
    {"test_mail_body_7bit_and_dot_lines", test_mail_body_7bit_and_dot_lines},
    {"test_mail_body_quoted_printable", test_mail_body_quoted_printable},
    {"test_mail_size_limit", test_mail_size_limit},
    CU_TEST_INFO_NULL,
};

const cvg_suite_t suite_mail = {"unit_mail", NULL, NULL, tests, 30};
