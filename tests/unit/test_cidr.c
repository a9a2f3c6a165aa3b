/*
 * Address lists (common/cidr.c) and the client behind trusted proxies
 * (gateway/forwarded.c).
 */
#include "common/cidr.h"
#include "gateway/forwarded.h"
#include "tests/tests.h"

#include <string.h>

static cvg_cidr_list_t list_of(const char *text)
{
    cvg_cidr_list_t l;
    cvg_err_t err;
    cvg_err_clear(&err);
    CU_ASSERT_EQUAL(cvg_cidr_list_parse(text, "API_TRUSTED_PROXIES", &l, &err), 0);
    return l;
}

static void test_cidr_match(void)
{
    cvg_cidr_list_t l = list_of(" 10.0.0.0/8, 192.168.1.7 ,fd00::/8,::1");
    CU_ASSERT_EQUAL(l.n, 4);
    CU_ASSERT_TRUE(cvg_cidr_list_match(&l, "10.0.0.1"));
    CU_ASSERT_TRUE(cvg_cidr_list_match(&l, "10.255.255.255"));
    CU_ASSERT_FALSE(cvg_cidr_list_match(&l, "11.0.0.1"));
    CU_ASSERT_TRUE(cvg_cidr_list_match(&l, "192.168.1.7"));
    CU_ASSERT_FALSE(cvg_cidr_list_match(&l, "192.168.1.8"));
    CU_ASSERT_TRUE(cvg_cidr_list_match(&l, "fd12:3456::1"));
    CU_ASSERT_FALSE(cvg_cidr_list_match(&l, "fe80::1"));
    CU_ASSERT_TRUE(cvg_cidr_list_match(&l, "::1"));
    /* an IPv4-mapped IPv6 peer is its IPv4 address */
    CU_ASSERT_TRUE(cvg_cidr_list_match(&l, "::ffff:10.1.2.3"));
    CU_ASSERT_FALSE(cvg_cidr_list_match(&l, "::ffff:11.1.2.3"));
    CU_ASSERT_FALSE(cvg_cidr_list_match(&l, "not an address"));
    CU_ASSERT_FALSE(cvg_cidr_list_match(&l, ""));
    cvg_cidr_list_t mapped = list_of("::ffff:10.0.0.0/104");
    CU_ASSERT_TRUE(cvg_cidr_list_match(&mapped, "10.200.0.1"));
    CU_ASSERT_FALSE(cvg_cidr_list_match(&mapped, "11.0.0.1"));
    cvg_cidr_list_t odd = list_of("172.16.0.0/12, 0.0.0.0/0");
    CU_ASSERT_TRUE(cvg_cidr_list_match(&odd, "172.31.255.1"));
    CU_ASSERT_TRUE(cvg_cidr_list_match(&odd, "8.8.8.8")); /* /0: everything IPv4 */
    CU_ASSERT_FALSE(cvg_cidr_list_match(&odd, "2001:db8::1"));
    cvg_cidr_list_t none = list_of("");
    CU_ASSERT_EQUAL(none.n, 0);
    CU_ASSERT_FALSE(cvg_cidr_list_match(&none, "127.0.0.1"));
}

static void test_cidr_bad_lists_named(void)
{
    static const struct {
        const char *text, *message;
    } cases[] = {
        {"10.0.0.0/8, proxy.internal",
         "API_TRUSTED_PROXIES: 'proxy.internal' is not an IP address"},
        {"10.0.0.1/8", "API_TRUSTED_PROXIES: '10.0.0.1/8' has bits set past its /8 prefix"},
        {"10.0.0.0/33", "API_TRUSTED_PROXIES: '10.0.0.0/33': the prefix length must be 0 to 32"},
        {"fd00::/129", "the prefix length must be 0 to 128"},
        {"10.0.0.0/", "the prefix length must be 0 to 32"},
        {"10.0.0.0/-1", "the prefix length must be 0 to 32"},
        {"10.0.0.0/8x", "the prefix length must be 0 to 32"},
        {"/8", "'/8' is not an IP address"},
        {"256.0.0.1", "'256.0.0.1' is not an IP address"},
        /* a mapped range counts its bits as IPv6 does */
        {"::ffff:10.0.0.0/8", "the prefix length must be 96 to 128"},
        {"::ffff:10.0.0.1/104", "has bits set past its /104 prefix"},
        {"10.0.0.0/8, "
         "1111111111111111111111111111111111111111111111111111111111111111111111111111111111"
         "11111111111111111111",
         "is too long"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        cvg_cidr_list_t l;
        cvg_err_t err;
        cvg_err_clear(&err);
        CU_ASSERT_EQUAL(cvg_cidr_list_parse(cases[i].text, "API_TRUSTED_PROXIES", &l, &err),
                        CVG_EINVAL);
        CU_ASSERT_EQUAL(l.n, 0);
        if (strstr(err.message, cases[i].message) == NULL) {
            printf("\n  %s: %s\n", cases[i].text, err.message);
            CU_FAIL("the message does not name what is wrong");
        }
    }
    char many[2048] = "";
    for (int i = 0; i <= CVG_CIDR_MAX; i++)
        snprintf(many + strlen(many), sizeof(many) - strlen(many), "10.0.0.%d,", i);
    cvg_cidr_list_t l;
    cvg_err_t err;
    cvg_err_clear(&err);
    CU_ASSERT_EQUAL(cvg_cidr_list_parse(many, "X", &l, &err), CVG_EINVAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.message, "more than 32 entries"));
    CU_ASSERT_EQUAL(l.n, 0);
}

/* The client found from peer and the X-Forwarded-For lines (one string,
 * lines split at '|'). */
static void client(const char *trusted, const char *peer, const char *xff, const char *want)
{
    cvg_cidr_list_t l = list_of(trusted);
    char copy[1024], out[64];
    const char *lines[GW_XFF_LINES_MAX];
    size_t n = 0;
    if (xff != NULL) {
        snprintf(copy, sizeof(copy), "%s", xff);
        for (char *p = copy, *bar; n < GW_XFF_LINES_MAX; p = bar + 1) {
            lines[n++] = p;
            if ((bar = strchr(p, '|')) == NULL)
                break;
            *bar = '\0';
        }
    }
    gw_forwarded_client(&l, peer, lines, n, out, sizeof(out));
    if (strcmp(out, want) != 0)
        printf("\n  peer %s, X-Forwarded-For %s: got %s, want %s\n", peer, xff ? xff : "(none)",
               out, want);
    CU_ASSERT_STRING_EQUAL(out, want);
}

static void test_forwarded_client(void)
{
    const char *t = "10.0.0.0/8";
    /* not from a trusted proxy: the header is the client's own, ignored */
    client(t, "203.0.113.9", "198.51.100.7", "203.0.113.9");
    client("", "10.0.0.2", "198.51.100.7", "10.0.0.2");
    /* from one: the entry it added */
    client(t, "10.0.0.2", "198.51.100.7", "198.51.100.7");
    client(t, "10.0.0.2", " 198.51.100.7 ", "198.51.100.7");
    client(t, "10.0.0.2", "2001:db8::7", "2001:db8::7");
    /* what the client wrote itself is left of it, never read */
    client(t, "10.0.0.2", "192.0.2.1, 198.51.100.7", "198.51.100.7");
    /* proxies in a chain, each trusted: the first untrusted from the right */
    client(t, "10.0.0.2", "192.0.2.1,198.51.100.7, 10.9.9.9,10.1.1.1", "198.51.100.7");
    /* all trusted: the leftmost */
    client(t, "10.0.0.2", "10.3.3.3, 10.1.1.1", "10.3.3.3");
    /* an entry that is not an address stops the walk at the hop after it */
    client(t, "10.0.0.2", "198.51.100.7, unknown", "10.0.0.2");
    client(t, "10.0.0.2", "junk, 10.1.1.1", "10.1.1.1");
    client(t, "10.0.0.2", "198.51.100.7,", "10.0.0.2");
    client(t, "10.0.0.2", "", "10.0.0.2");
    client(t, "10.0.0.2", NULL, "10.0.0.2");
    /* ports and brackets, as some proxies write them */
    client(t, "10.0.0.2", "198.51.100.7:4711", "198.51.100.7");
    client(t, "10.0.0.2", "[2001:db8::7]:443", "2001:db8::7");
    client(t, "10.0.0.2", "[2001:db8::7]", "2001:db8::7");
    client(t, "10.0.0.2", "198.51.100.7:http", "10.0.0.2");
    client(t, "10.0.0.2", "[2001:db8::7]x", "10.0.0.2");
    client(t, "10.0.0.2", "[2001:db8::7", "10.0.0.2");
    /* one spelling per address */
    client(t, "10.0.0.2", "2001:DB8:0:0::7", "2001:db8::7");
    client(t, "10.0.0.2", "::FFFF:198.51.100.7", "198.51.100.7");
    /* several header lines: the last is the nearest proxy's, read first */
    client(t, "10.0.0.2", "192.0.2.1|198.51.100.7", "198.51.100.7");
    client(t, "10.0.0.2", "192.0.2.1, 10.5.5.5|10.1.1.1", "192.0.2.1");
    client(t, "10.0.0.2", "198.51.100.7|junk", "10.0.0.2");
    /* an entry too long for an address is not one */
    char longer[200];
    memset(longer, '1', sizeof(longer) - 1);
    longer[sizeof(longer) - 1] = '\0';
    client(t, "10.0.0.2", longer, "10.0.0.2");
}

static void test_ip_bucket(void)
{
    char b[64];
    CU_ASSERT_TRUE(cvg_ip_bucket("198.51.100.7", b, sizeof(b)));
    CU_ASSERT_STRING_EQUAL(b, "198.51.100.7");
    CU_ASSERT_TRUE(cvg_ip_bucket("::ffff:198.51.100.7", b, sizeof(b)));
    CU_ASSERT_STRING_EQUAL(b, "198.51.100.7");
    /* every address of one /64 is one client */
    CU_ASSERT_TRUE(cvg_ip_bucket("2001:db8:0:1:aaaa::1", b, sizeof(b)));
    CU_ASSERT_STRING_EQUAL(b, "2001:db8:0:1::/64");
    CU_ASSERT_TRUE(cvg_ip_bucket("2001:DB8:0:1:ffff:ffff:ffff:ffff", b, sizeof(b)));
    CU_ASSERT_STRING_EQUAL(b, "2001:db8:0:1::/64");
    CU_ASSERT_TRUE(cvg_ip_bucket("2001:db8:0:2::1", b, sizeof(b)));
    CU_ASSERT_STRING_EQUAL(b, "2001:db8:0:2::/64");
    CU_ASSERT_FALSE(cvg_ip_bucket("not-an-ip", b, sizeof(b)));
    CU_ASSERT_FALSE(cvg_ip_bucket(NULL, b, sizeof(b)));
    char small[8];
    CU_ASSERT_FALSE(cvg_ip_bucket("198.51.100.7", small, sizeof(small)));
}

static CU_TestInfo tests[] = {
    {"test_cidr_match", test_cidr_match},
    {"test_cidr_bad_lists_named", test_cidr_bad_lists_named},
    {"test_forwarded_client", test_forwarded_client},
    {"test_ip_bucket", test_ip_bucket},
    CU_TEST_INFO_NULL,
};

const cvg_suite_t suite_cidr = {"unit_cidr", NULL, NULL, tests, 60};
