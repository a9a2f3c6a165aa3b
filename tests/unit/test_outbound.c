/*
 * The outbound policy: the allow list, every address class (IPv4 and
 * IPv6, embedded IPv4 included), the scheme rules, and the address check
 * at connect time: a name that resolves to a loopback or metadata address
 * is refused without any connection reaching the listener, and reaches it
 * once the host is allowed; the step's deadline and cancel flag end a
 * transfer.
 */
#include "common/outbound.h"
#include "common/time.h"
#include "tests/tests.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static void test_outbound_parse_allow_list(void)
{
    cvg_outbound_t p;
    cvg_err_t err;
    CU_ASSERT_EQUAL(cvg_outbound_parse("", &p, &err), 0);
    CU_ASSERT_EQUAL(p.n, 0);
    CU_ASSERT_EQUAL(cvg_outbound_parse(NULL, &p, &err), 0);
    CU_ASSERT_EQUAL(cvg_outbound_parse(
                        " 127.0.0.1 , Minio.Internal:9000,[::1]:8025,fd00::5,[fe80::1],", &p, &err),
                    0);
    CU_ASSERT_EQUAL_FATAL(p.n, 5);
    CU_ASSERT_STRING_EQUAL(p.allow[0].host, "127.0.0.1");
    CU_ASSERT_EQUAL(p.allow[0].port, 0);
    CU_ASSERT_STRING_EQUAL(p.allow[1].host, "minio.internal");
    CU_ASSERT_EQUAL(p.allow[1].port, 9000);
    CU_ASSERT_STRING_EQUAL(p.allow[2].host, "::1");
    CU_ASSERT_EQUAL(p.allow[2].port, 8025);
    CU_ASSERT_STRING_EQUAL(p.allow[3].host, "fd00::5");
    CU_ASSERT_EQUAL(p.allow[3].port, 0);
    CU_ASSERT_STRING_EQUAL(p.allow[4].host, "fe80::1");

    static const char *const bad[] = {
        "host:0",    "host:65536", "host:x", "[::1", "[::1]x",
        "[nope]:80", "ho st",      "a/b",    "::zz", ":80",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        cvg_err_clear(&err);
        CU_ASSERT_EQUAL(cvg_outbound_parse(bad[i], &p, &err), CVG_ECONFIG);
        CU_ASSERT_STRING_EQUAL(err.field, "CVG_OUTBOUND_ALLOW");
        if (strstr(err.message, "CVG_OUTBOUND_ALLOW: '") == NULL)
            printf("\n  %s: %s\n", bad[i], err.message);
    }

    cvg_config_t cfg = {0};
    STRSET(cfg.outbound_allow, "smtp.relay:25");
    CU_ASSERT_EQUAL(cvg_outbound_from_config(&cfg, &p, &err), 0);
    CU_ASSERT_TRUE(cvg_outbound_host_allowed(&p, "SMTP.relay.", 25));
}

static void test_outbound_host_allowed(void)
{
    cvg_outbound_t p;
    cvg_err_t err;
    CU_ASSERT_EQUAL_FATAL(cvg_outbound_parse("127.0.0.1,s3.local:9000,[::1]:25,fd00::5", &p, &err),
                          0);
    static const struct {
        const char *host;
        int port;
        bool allowed;
    } cases[] = {
        {"127.0.0.1", 80, true},
        {"127.0.0.1", 9999, true},
        {"127.0.0.2", 80, false},
        {"localhost", 80, false}, /* matched as written, not as resolved */
        {"s3.local", 9000, true},
        {"S3.Local", 9000, true},
        {"s3.local", 9001, false},
        {"x.s3.local", 9000, false},
        {"[::1]", 25, true},
        {"::1", 25, true},
        {"0:0:0:0:0:0:0:1", 25, true},
        {"::1", 26, false},
        {"[fd00:0::5]", 443, true},
        {"", 80, false},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        bool got = cvg_outbound_host_allowed(&p, cases[i].host, cases[i].port);
        if (got != cases[i].allowed)
            printf("\n  %s:%d allowed=%d\n", cases[i].host, cases[i].port, got);
        CU_ASSERT_EQUAL(got, cases[i].allowed);
    }
    cvg_outbound_t none = {0};
    CU_ASSERT_FALSE(cvg_outbound_host_allowed(&none, "127.0.0.1", 80));
}

static void test_outbound_address_classes(void)
{
    static const struct {
        const char *addr;
        cvg_addr_class_t cls;
    } cases[] = {
        /* IPv4 */
        {"8.8.8.8", CVG_ADDR_PUBLIC},
        {"93.184.216.34", CVG_ADDR_PUBLIC},
        {"0.0.0.0", CVG_ADDR_UNSPECIFIED},
        {"0.1.2.3", CVG_ADDR_UNSPECIFIED},
        {"127.0.0.1", CVG_ADDR_LOOPBACK},
        {"127.255.255.254", CVG_ADDR_LOOPBACK},
        {"10.0.0.1", CVG_ADDR_PRIVATE},
        {"10.255.255.255", CVG_ADDR_PRIVATE},
        {"172.16.0.1", CVG_ADDR_PRIVATE},
        {"172.31.255.255", CVG_ADDR_PRIVATE},
        {"172.15.255.255", CVG_ADDR_PUBLIC},
        {"172.32.0.0", CVG_ADDR_PUBLIC},
        {"192.168.1.1", CVG_ADDR_PRIVATE},
        {"192.169.0.1", CVG_ADDR_PUBLIC},
        {"100.64.0.1", CVG_ADDR_CGNAT},
        {"100.127.255.255", CVG_ADDR_CGNAT},
        {"100.128.0.0", CVG_ADDR_PUBLIC},
        {"100.63.255.255", CVG_ADDR_PUBLIC},
        {"169.254.0.1", CVG_ADDR_LINK_LOCAL},
        {"169.254.169.254", CVG_ADDR_METADATA},
        {"168.63.129.16", CVG_ADDR_METADATA},
        {"224.0.0.1", CVG_ADDR_MULTICAST},
        {"239.255.255.250", CVG_ADDR_MULTICAST},
        {"240.0.0.1", CVG_ADDR_RESERVED},
        {"255.255.255.255", CVG_ADDR_RESERVED},
        {"192.0.0.1", CVG_ADDR_RESERVED},
        {"192.0.2.10", CVG_ADDR_RESERVED},
        {"192.0.3.1", CVG_ADDR_PUBLIC},
        {"198.18.0.1", CVG_ADDR_RESERVED},
        {"198.19.255.255", CVG_ADDR_RESERVED},
        {"198.17.255.255", CVG_ADDR_PUBLIC},
        {"198.20.0.0", CVG_ADDR_PUBLIC},
        {"198.51.100.7", CVG_ADDR_RESERVED},
        {"203.0.113.9", CVG_ADDR_RESERVED},
        {"203.0.114.1", CVG_ADDR_PUBLIC},
        {"192.88.99.1", CVG_ADDR_RESERVED},
        /* IPv6 */
        {"2001:4860:4860::8888", CVG_ADDR_PUBLIC},
        {"::", CVG_ADDR_UNSPECIFIED},
        {"::1", CVG_ADDR_LOOPBACK},
        {"fe80::1", CVG_ADDR_LINK_LOCAL},
        {"febf:ffff::1", CVG_ADDR_LINK_LOCAL},
        {"fec0::1", CVG_ADDR_PRIVATE},
        {"fc00::1", CVG_ADDR_UNIQUE_LOCAL},
        {"fd12:3456::1", CVG_ADDR_UNIQUE_LOCAL},
        {"fd00:ec2::254", CVG_ADDR_METADATA},
        {"fd00:ec2::253", CVG_ADDR_UNIQUE_LOCAL},
        {"ff02::1", CVG_ADDR_MULTICAST},
        /* IPv4 carried in IPv6 is judged as that IPv4 address */
        {"::ffff:127.0.0.1", CVG_ADDR_LOOPBACK},
        {"::ffff:169.254.169.254", CVG_ADDR_METADATA},
        {"::ffff:10.1.2.3", CVG_ADDR_PRIVATE},
        {"::ffff:8.8.8.8", CVG_ADDR_PUBLIC},
        {"::127.0.0.1", CVG_ADDR_LOOPBACK},
        {"64:ff9b::a9fe:a9fe", CVG_ADDR_METADATA},
        {"64:ff9b::808:808", CVG_ADDR_PUBLIC},
        {"2002:c0a8:0101::1", CVG_ADDR_PRIVATE},
        {"2002:0808:0808::1", CVG_ADDR_PUBLIC},
        {"::ffff:0:7f00:1", CVG_ADDR_LOOPBACK},
        {"::ffff:0:a9fe:a9fe", CVG_ADDR_METADATA},
        {"64:ff9b:1::a9fe:a9fe", CVG_ADDR_RESERVED},
        {"2001::1", CVG_ADDR_RESERVED},
        {"2001:0:4136:e378:8000:63bf:3fff:fdd2", CVG_ADDR_RESERVED},
        {"2001:1ff::1", CVG_ADDR_RESERVED},
        {"2001:200::1", CVG_ADDR_PUBLIC},
        {"2001:db8::1", CVG_ADDR_RESERVED},
        {"100::1", CVG_ADDR_RESERVED},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        int got = cvg_outbound_classify_text(cases[i].addr);
        if (got != (int)cases[i].cls)
            printf("\n  %s: %d (%s), expected %s\n", cases[i].addr, got,
                   got >= 0 ? cvg_addr_class_name((cvg_addr_class_t)got) : "-",
                   cvg_addr_class_name(cases[i].cls));
        CU_ASSERT_EQUAL(got, (int)cases[i].cls);
    }
    CU_ASSERT_EQUAL(cvg_outbound_classify_text("example.com"), -1);
    CU_ASSERT_EQUAL(cvg_outbound_classify_text("1.2.3"), -1);

    struct sockaddr_in6 in6 = {.sin6_family = AF_INET6};
    inet_pton(AF_INET6, "fe80::1", &in6.sin6_addr);
    CU_ASSERT_EQUAL(cvg_outbound_classify((struct sockaddr *)&in6), CVG_ADDR_LINK_LOCAL);
    struct sockaddr_in in = {.sin_family = AF_INET};
    inet_pton(AF_INET, "192.168.0.10", &in.sin_addr);
    CU_ASSERT_EQUAL(cvg_outbound_classify((struct sockaddr *)&in), CVG_ADDR_PRIVATE);
    struct sockaddr un = {.sa_family = AF_UNIX};
    CU_ASSERT_EQUAL(cvg_outbound_classify(&un), CVG_ADDR_RESERVED);
    CU_ASSERT_STRING_EQUAL(cvg_addr_class_name(CVG_ADDR_METADATA), "link-local/metadata");
}

/* Prepares url under allow (a CVG_OUTBOUND_ALLOW value); returns the code
 * and leaves the message in err. */
static int prepare(const char *allow, const char *url, bool smtp_plain, cvg_err_t *err)
{
    cvg_outbound_t p;
    CU_ASSERT_EQUAL_FATAL(cvg_outbound_parse(allow, &p, err), 0);
    cvg_outbound_call_t call = {.policy = &p, .smtp_plain = smtp_plain};
    CURL *h = curl_easy_init();
    cvg_err_clear(err);
    int rc = cvg_outbound_prepare(h, &call, url, err);
    curl_easy_cleanup(h);
    return rc;
}

static void test_outbound_scheme_and_literal_rules(void)
{
    static const struct {
        const char *allow, *url;
        bool smtp_plain;
        int rc;
        const char *message; /* a part of the error */
    } cases[] = {
        {"", "https://hooks.example.com/services/T0/B0/x", false, 0, NULL},
        {"", "smtps://smtp.example.com", false, 0, NULL},
        {"", "smtp://smtp.example.com:587", false, 0, NULL}, /* STARTTLS required */
        {"", "HTTPS://Hooks.Example.COM/x", false, 0, NULL},
        {"", "http://hooks.example.com/x", false, CVG_EINVAL,
         "refused: http://hooks.example.com is plain HTTP; only https is allowed unless "
         "hooks.example.com is in CVG_OUTBOUND_ALLOW"},
        {"hooks.example.com", "http://hooks.example.com/x", false, 0, NULL},
        {"hooks.example.com:8080", "http://hooks.example.com/x", false, CVG_EINVAL, "plain HTTP"},
        {"hooks.example.com:8080", "http://hooks.example.com:8080/x", false, 0, NULL},
        {"", "smtp://mail.example.com", true, CVG_EINVAL,
         "refused: smtp://mail.example.com without TLS is allowed only to hosts in "
         "CVG_OUTBOUND_ALLOW"},
        {"mail.example.com", "smtp://mail.example.com", true, 0, NULL},
        {"", "ftp://files.example.com/x", false, CVG_EINVAL, "the scheme ftp is not allowed"},
        {"", "file:///etc/passwd", false, CVG_EINVAL, NULL},
        {"", "gopher://example.com/", false, CVG_EINVAL, "not allowed"},
        {"", "not a url", false, CVG_EINVAL, NULL},
        /* address literals are refused before anything is tried */
        {"", "https://169.254.169.254/latest/meta-data/", false, CVG_EINVAL,
         "refused: 169.254.169.254 is a link-local/metadata address"},
        {"", "https://127.0.0.1:9000/", false, CVG_EINVAL,
         "refused: 127.0.0.1 is a loopback address (not in CVG_OUTBOUND_ALLOW)"},
        {"", "https://10.1.2.3/", false, CVG_EINVAL, "10.1.2.3 is a private (RFC 1918) address"},
        {"", "https://172.20.0.1/", false, CVG_EINVAL, "private (RFC 1918)"},
        {"", "https://192.168.0.1/", false, CVG_EINVAL, "private (RFC 1918)"},
        {"", "https://100.100.100.200/", false, CVG_EINVAL, "carrier-grade NAT"},
        {"", "https://0.0.0.0/", false, CVG_EINVAL, "unspecified"},
        {"", "https://224.0.0.251/", false, CVG_EINVAL, "multicast"},
        {"", "https://[::1]/", false, CVG_EINVAL, "refused: ::1 is a loopback address"},
        {"", "https://[fe80::1]/", false, CVG_EINVAL, "fe80::1 is a link-local address"},
        {"", "https://[fd00:ec2::254]/", false, CVG_EINVAL,
         "fd00:ec2::254 is a link-local/metadata address"},
        {"", "https://[fd12::1]/", false, CVG_EINVAL, "unique-local"},
        {"", "https://[::ffff:169.254.169.254]/", false, CVG_EINVAL, "link-local/metadata"},
        {"", "https://[ff02::1]/", false, CVG_EINVAL, "multicast"},
        /* the names that always mean this machine (RFC 6761), in any case,
         * with a port or the root's dot */
        {"", "https://localhost/", false, CVG_EINVAL,
         "refused: localhost is a loopback address (not in CVG_OUTBOUND_ALLOW)"},
        {"", "https://LOCALHOST:8443/x", false, CVG_EINVAL, "loopback"},
        {"", "https://localhost./", false, CVG_EINVAL, "loopback"},
        {"", "https://foo.localhost/", false, CVG_EINVAL, "foo.localhost is a loopback"},
        {"", "https://notlocalhost.example.com/", false, 0, NULL},
        /* a user name before the host: one host to the eye, another to
         * libcurl */
        {"", "https://127.0.0.1%2f@example.com/", false, CVG_EINVAL, "user name before '@'"},
        {"", "https://user:pw@hooks.example.com/x", false, CVG_EINVAL, "credentials belong"},
        {"", "https://[2001:db8::1]/", false, CVG_EINVAL, "reserved"},
        {"", "https://198.18.0.1/", false, CVG_EINVAL, "reserved"},
        {"localhost:8443", "https://localhost:8443/", false, 0, NULL},
        {"", "https://8.8.8.8/", false, 0, NULL},
        {"", "https://[2001:4860:4860::8888]/", false, 0, NULL},
        /* allowed hosts may be anything */
        {"127.0.0.1", "http://127.0.0.1:9000/", false, 0, NULL},
        {"169.254.169.254", "https://169.254.169.254/", false, 0, NULL},
        {"[::1]:8443", "https://[::1]:8443/", false, 0, NULL},
        {"[::1]:8443", "https://[::1]:8444/", false, CVG_EINVAL, "loopback"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        cvg_err_t err;
        int rc = prepare(cases[i].allow, cases[i].url, cases[i].smtp_plain, &err);
        bool ok = rc == cases[i].rc &&
                  (cases[i].message == NULL || strstr(err.message, cases[i].message) != NULL);
        if (!ok)
            printf("\n  [%s] %s: %d %s\n", cases[i].allow, cases[i].url, rc, err.message);
        CU_ASSERT_TRUE(ok);
    }
    /* a deadline already past */
    cvg_outbound_t none = {0};
    cvg_outbound_call_t call = {.policy = &none, .deadline_ms = cvg_time_mono_ms() - 1};
    CURL *h = curl_easy_init();
    cvg_err_t err;
    CU_ASSERT_EQUAL(cvg_outbound_prepare(h, &call, "https://example.com/", &err), CVG_ETIMEDOUT);
    curl_easy_cleanup(h);
}

/* A listening socket on 127.0.0.1 that nobody answers on; its port. */
static int listener(int *port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof(a);
    if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) != 0 || listen(fd, 8) != 0 ||
        getsockname(fd, (struct sockaddr *)&a, &len) != 0) {
        if (fd >= 0)
            close(fd);
        return -1;
    }
    *port = ntohs(a.sin_port);
    return fd;
}

/* How many connections wait on the listener (accepting and closing them). */
static int accepted(int fd)
{
    int n = 0, c;
    while ((c = accept(fd, NULL, NULL)) >= 0) {
        close(c);
        n++;
    }
    return n;
}

/* Runs url with name:port resolved to addr (libcurl's own resolve
 * override stands in for DNS); returns the code, message in err. */
static int fetch(const char *allow, const char *url, const char *resolve, int64_t timeout_ms,
                 volatile sig_atomic_t *cancel, cvg_err_t *err)
{
    cvg_outbound_t p;
    CU_ASSERT_EQUAL_FATAL(cvg_outbound_parse(allow, &p, err), 0);
    cvg_outbound_call_t call = {
        .policy = &p, .deadline_ms = cvg_time_mono_ms() + timeout_ms, .cancel = cancel};
    CURL *h = curl_easy_init();
    struct curl_slist *r = curl_slist_append(NULL, resolve);
    cvg_err_clear(err);
    int rc = cvg_outbound_prepare(h, &call, url, err);
    CU_ASSERT_EQUAL_FATAL(rc, 0);
    curl_easy_setopt(h, CURLOPT_RESOLVE, r);
    bool transient = false;
    rc = cvg_outbound_result(&call, curl_easy_perform(h), &transient, err);
    curl_easy_cleanup(h);
    curl_slist_free_all(r);
    return rc;
}

/* The check is on the address connected to, not on the name: a public
 * looking name that resolves to loopback never reaches the listener. */
static void test_outbound_checks_the_address_connected_to(void)
{
    int port = 0;
    int fd = listener(&port);
    CU_ASSERT_FATAL(fd >= 0);
    char url[100], resolve[100];
    snprintf(url, sizeof(url), "https://rebind.example.com:%d/", port);
    snprintf(resolve, sizeof(resolve), "rebind.example.com:%d:127.0.0.1", port);
    cvg_err_t err;
    int64_t t0 = cvg_time_mono_ms();
    CU_ASSERT_EQUAL(fetch("", url, resolve, 5000, NULL, &err), CVG_EINVAL);
    CU_ASSERT_STRING_EQUAL(err.message, "refused: 127.0.0.1 is a loopback address (host "
                                        "rebind.example.com resolved to it; not in "
                                        "CVG_OUTBOUND_ALLOW)");
    CU_ASSERT(cvg_time_mono_ms() - t0 < 2000);
    CU_ASSERT_EQUAL(accepted(fd), 0);

    /* Allowed: the connection is made (and the TLS handshake waits until
     * the step's time runs out). */
    CU_ASSERT_EQUAL(fetch("rebind.example.com", url, resolve, 300, NULL, &err), CVG_ETIMEDOUT);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.message, "the step's time ran out"));
    CU_ASSERT_EQUAL(accepted(fd), 1);

    /* Cancelled while waiting for the handshake. */
    volatile sig_atomic_t cancel = 1;
    t0 = cvg_time_mono_ms();
    CU_ASSERT_EQUAL(fetch("rebind.example.com", url, resolve, 10000, &cancel, &err), CVG_ECANCELED);
    CU_ASSERT(cvg_time_mono_ms() - t0 < 5000);
    accepted(fd);
    close(fd);
}

static void test_outbound_metadata_names_refused(void)
{
    static const struct {
        const char *resolve, *message;
    } cases[] = {
        {"metadata.google.internal:443:169.254.169.254",
         "refused: 169.254.169.254 is a link-local/metadata address (host "
         "metadata.google.internal resolved to it"},
        {"metadata.google.internal:443:10.0.0.7", "10.0.0.7 is a private (RFC 1918) address"},
        {"metadata.google.internal:443:100.100.100.200", "carrier-grade NAT"},
        {"metadata.google.internal:443:[fd00:ec2::254]", "fd00:ec2::254 is a link-local/metadata"},
        {"metadata.google.internal:443:[fe80::a9fe]", "fe80::a9fe is a link-local address"},
        {"metadata.google.internal:443:[::ffff:169.254.169.254]", "link-local/metadata"},
        {"metadata.google.internal:443:[::1]", "::1 is a loopback address"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        cvg_err_t err;
        int rc = fetch("", "https://metadata.google.internal/computeMetadata/v1/", cases[i].resolve,
                       3000, NULL, &err);
        /* A host without IPv6 may drop an IPv6 answer before connecting:
         * then nothing was connected to either. */
        bool ok = rc == CVG_EINVAL ? strstr(err.message, cases[i].message) != NULL
                                   : strchr(cases[i].resolve, '[') != NULL && rc == CVG_EIO;
        if (!ok)
            printf("\n  %s: %d %s\n", cases[i].resolve, rc, err.message);
        CU_ASSERT_TRUE(ok);
    }
}

static CU_TestInfo tests[] = {
    {"test_outbound_parse_allow_list", test_outbound_parse_allow_list},
    {"test_outbound_host_allowed", test_outbound_host_allowed},
    {"test_outbound_address_classes", test_outbound_address_classes},
    {"test_outbound_scheme_and_literal_rules", test_outbound_scheme_and_literal_rules},
    {"test_outbound_checks_the_address_connected_to",
     test_outbound_checks_the_address_connected_to},
    {"test_outbound_metadata_names_refused", test_outbound_metadata_names_refused},
    CU_TEST_INFO_NULL,
};

const cvg_suite_t suite_outbound = {"unit_outbound", NULL, NULL, tests, 60};
