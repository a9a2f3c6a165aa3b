/*
 * Encryption: AES-256-GCM round trips and tamper detection, the keyring,
 * and credential envelopes: a flipped bit, a ciphertext moved to another
 * tenant or credential, and a wrong master key version all fail to open;
 * re-wrapping moves a credential to the newest key version.
 */
#include "common/credentials.h"
#include "common/crypto.h"
#include "common/outbound.h"
#include "common/keyring.h"
#include "tests/tests.h"

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static bool contains(const unsigned char *p, size_t n, const char *s)
{
    size_t m = strlen(s);
    for (size_t i = 0; i + m <= n; i++) {
        if (memcmp(p + i, s, m) == 0)
            return true;
    }
    return false;
}

static void test_crypto_aead(void)
{
    unsigned char key[32], other[32];
    cvg_random_bytes(key, sizeof(key));
    cvg_random_bytes(other, sizeof(other));
    const char *msg = "the secret access key";
    unsigned char sealed[128], opened[128];
    size_t n = 0, m = 0;
    CU_ASSERT_EQUAL_FATAL(cvg_aead_seal(key, "aad", 3, msg, strlen(msg), sealed, &n), 0);
    CU_ASSERT_EQUAL(n, strlen(msg) + CVG_GCM_NONCE_LEN + CVG_GCM_TAG_LEN);
    CU_ASSERT_FALSE(contains(sealed, n, "secret"));
    CU_ASSERT_EQUAL(cvg_aead_open(key, "aad", 3, sealed, n, opened, &m), 0);
    CU_ASSERT_EQUAL(m, strlen(msg));
    CU_ASSERT_EQUAL(memcmp(opened, msg, m), 0);
    /* Every single bit flip, anywhere, is detected. */
    int accepted = 0;
    for (size_t byte = 0; byte < n; byte++) {
        for (int bit = 0; bit < 8; bit++) {
            sealed[byte] ^= (unsigned char)(1 << bit);
            accepted += cvg_aead_open(key, "aad", 3, sealed, n, opened, &m) == 0;
            sealed[byte] ^= (unsigned char)(1 << bit);
        }
    }
    CU_ASSERT_EQUAL(accepted, 0);
    CU_ASSERT_EQUAL(cvg_aead_open(other, "aad", 3, sealed, n, opened, &m), CVG_EAUTH);
    CU_ASSERT_EQUAL(cvg_aead_open(key, "aae", 3, sealed, n, opened, &m), CVG_EAUTH);
    CU_ASSERT_EQUAL(cvg_aead_open(key, "aad", 3, sealed, 10, opened, &m), CVG_EAUTH);
    /* Same input, different nonce each time. */
    unsigned char again[128];
    size_t n2 = 0;
    cvg_aead_seal(key, "aad", 3, msg, strlen(msg), again, &n2);
    CU_ASSERT(memcmp(again, sealed, CVG_GCM_NONCE_LEN) != 0);
}

/* RFC 4231 test cases 1, 2 and 6 (API keys are stored as this HMAC), in
 * an order that reuses a thread's keyed context, switches its key and
 * takes a key longer than a block (not kept in the context). */
static void test_crypto_hmac_sha256_vectors(void)
{
    static const struct {
        const char *key, *data, *hex;
    } cases[] = {
        {"\x0b\x0b\x0b\x0b\x0b\x0b\x0b\x0b\x0b\x0b\x0b\x0b\x0b\x0b\x0b\x0b\x0b\x0b\x0b\x0b",
         "Hi There", "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"},
        {"Jefe", "what do ya want for nothing?",
         "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"},
        {NULL, "Test Using Larger Than Block-Size Key - Hash Key First",
         "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"},
    };
    char long_key[132];
    memset(long_key, 0xaa, 131);
    long_key[131] = '\0';
    static const size_t order[] = {0, 0, 1, 1, 0, 2, 1, 2, 0};
    for (size_t k = 0; k < sizeof(order) / sizeof(order[0]); k++) {
        size_t i = order[k];
        const char *key = cases[i].key ? cases[i].key : long_key;
        unsigned char mac[CVG_HMAC_LEN];
        char hex[2 * CVG_HMAC_LEN + 1];
        cvg_hmac_sha256(key, strlen(key), cases[i].data, strlen(cases[i].data), mac);
        for (size_t j = 0; j < CVG_HMAC_LEN; j++)
            snprintf(hex + 2 * j, 3, "%02x", mac[j]);
        CU_ASSERT_STRING_EQUAL(hex, cases[i].hex);
    }
}

static void test_crypto_base64(void)
{
    for (size_t len = 0; len < 70; len++) {
        unsigned char data[70];
        cvg_random_bytes(data, len);
        char *text = cvg_base64_encode(data, len);
        CU_ASSERT_PTR_NOT_NULL_FATAL(text);
        size_t back = 0;
        unsigned char *raw = len ? cvg_base64_decode(text, &back) : NULL;
        if (len) {
            CU_ASSERT_EQUAL(back, len);
            CU_ASSERT_EQUAL(memcmp(raw, data, len), 0);
        }
        free(raw);
        free(text);
    }
    size_t n;
    CU_ASSERT_PTR_NULL(cvg_base64_decode("abc", &n));
    CU_ASSERT_PTR_NULL(cvg_base64_decode("ab!d", &n));
}

static void keyring_with(cvg_keyring_t *k, const char *text)
{
    memset(k, 0, sizeof(*k));
    cvg_err_t err;
    CU_ASSERT_EQUAL_FATAL(cvg_keyring_parse_master(k, text, "test", &err), 0);
}

static char *b64key(void)
{
    unsigned char raw[32];
    cvg_random_bytes(raw, sizeof(raw));
    return cvg_base64_encode(raw, sizeof(raw));
}

static void test_crypto_keyring(void)
{
    char *a = b64key(), *b = b64key();
    char text[256];
    snprintf(text, sizeof(text), "# comment\n1:%s\n\n2:%s\n", a, b);
    cvg_keyring_t k;
    keyring_with(&k, text);
    CU_ASSERT_EQUAL(k.nmaster, 2);
    CU_ASSERT_EQUAL(k.current, 2);
    CU_ASSERT_PTR_NOT_NULL(cvg_keyring_master(&k, 1));
    CU_ASSERT_PTR_NULL(cvg_keyring_master(&k, 3));
    cvg_err_t err;
    cvg_keyring_t bad;
    memset(&bad, 0, sizeof(bad));
    snprintf(text, sizeof(text), "1:%s\n1:%s\n", a, b);
    CU_ASSERT_EQUAL(cvg_keyring_parse_master(&bad, text, "T", &err), CVG_ECONFIG);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.message, "twice"));
    memset(&bad, 0, sizeof(bad));
    CU_ASSERT_EQUAL(cvg_keyring_parse_master(&bad, "1:c2hvcnQ=", "T", &err), CVG_ECONFIG);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.message, "32 bytes"));
    CU_ASSERT_PTR_NULL(strstr(err.message, "c2hvcnQ")); /* the value is not echoed */
    /* A key file others can read is refused. */
    char *dir = tmpdir_new("keys");
    char path[512];
    snprintf(path, sizeof(path), "%s/master", dir);
    FILE *f = fopen(path, "w");
    fprintf(f, "1:%s\n", a);
    fclose(f);
    chmod(path, 0644);
    cvg_config_t cfg;
    memset(&cfg, 0, sizeof(cfg));
    snprintf(cfg.master_key_file, sizeof(cfg.master_key_file), "%s", path);
    CU_ASSERT_EQUAL(cvg_keyring_load(&bad, &cfg, &err), CVG_ECONFIG);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.message, "readable by others"));
    chmod(path, 0600);
    CU_ASSERT_EQUAL(cvg_keyring_load(&bad, &cfg, &err), 0);
    CU_ASSERT_EQUAL(bad.current, 1);
    cvg_keyring_wipe(&bad);
    tmpdir_remove(&dir);
    free(a);
    free(b);
}

static void test_crypto_credential_envelope(void)
{
    char *a = b64key();
    char text[128];
    snprintf(text, sizeof(text), "1:%s", a);
    cvg_keyring_t k;
    keyring_with(&k, text);
    const char *secret = "{\"access_key_id\":\"AKIA\",\"secret_access_key\":\"wJalr\"}";
    cvg_sealed_t s;
    cvg_err_t err;
    CU_ASSERT_EQUAL_FATAL(cvg_cred_seal(&k, "acme", "cred-1", secret, strlen(secret), &s, &err), 0);
    CU_ASSERT_EQUAL(s.key_version, 1);
    CU_ASSERT_PTR_NULL(strstr(s.ciphertext, "wJalr"));
    char *plain = NULL;
    size_t len = 0;
    CU_ASSERT_EQUAL(cvg_cred_open(&k, "acme", "cred-1", &s, &plain, &len, &err), 0);
    CU_ASSERT_STRING_EQUAL(plain, secret);
    free(plain);
    /* Moved to another tenant or credential: refused. */
    CU_ASSERT_EQUAL(cvg_cred_open(&k, "globex", "cred-1", &s, &plain, &len, &err), CVG_EAUTH);
    CU_ASSERT_EQUAL(cvg_cred_open(&k, "acme", "cred-2", &s, &plain, &len, &err), CVG_EAUTH);
    CU_ASSERT_PTR_NULL(plain);
    /* A flipped bit in the stored ciphertext. */
    size_t clen = 0;
    unsigned char *ct = cvg_base64_decode(s.ciphertext, &clen);
    ct[3] ^= 0x10;
    char *tampered = cvg_base64_encode(ct, clen);
    char *orig = s.ciphertext;
    s.ciphertext = tampered;
    CU_ASSERT_EQUAL(cvg_cred_open(&k, "acme", "cred-1", &s, &plain, &len, &err), CVG_EAUTH);
    s.ciphertext = orig;
    free(tampered);
    free(ct);
    /* The ciphertext of another tenant's credential, swapped in. */
    cvg_sealed_t t;
    CU_ASSERT_EQUAL(cvg_cred_seal(&k, "globex", "cred-1", secret, strlen(secret), &t, &err), 0);
    char *mine = s.ciphertext;
    s.ciphertext = t.ciphertext;
    CU_ASSERT_EQUAL(cvg_cred_open(&k, "acme", "cred-1", &s, &plain, &len, &err), CVG_EAUTH);
    s.ciphertext = mine;
    cvg_sealed_cleanup(&t);
    /* A wrong key version: unknown, or another key's. */
    s.key_version = 2;
    CU_ASSERT_EQUAL(cvg_cred_open(&k, "acme", "cred-1", &s, &plain, &len, &err), CVG_EAUTH);
    char *b = b64key();
    snprintf(text, sizeof(text), "1:%s\n2:%s", a, b);
    cvg_keyring_t k2;
    keyring_with(&k2, text);
    CU_ASSERT_EQUAL(cvg_cred_open(&k2, "acme", "cred-1", &s, &plain, &len, &err), CVG_EAUTH);
    s.key_version = 1;
    /* Re-wrap under version 2; then version 1 can go. */
    CU_ASSERT_EQUAL(cvg_cred_rewrap(&k2, "acme", "cred-1", &s, &err), 0);
    CU_ASSERT_EQUAL(s.key_version, 2);
    snprintf(text, sizeof(text), "2:%s", b);
    cvg_keyring_t only2;
    keyring_with(&only2, text);
    CU_ASSERT_EQUAL(cvg_cred_open(&only2, "acme", "cred-1", &s, &plain, &len, &err), 0);
    CU_ASSERT_STRING_EQUAL(plain, secret);
    free(plain);
    cvg_sealed_cleanup(&s);
    free(a);
    free(b);
}

static void test_crypto_credential_shapes(void)
{
    static const struct {
        const char *provider, *json, *field;
    } bad[] = {
        {"aws", "{\"access_key_id\":\"AKIA1\"}", "secret_access_key"},
        {"aws", "{\"access_key_id\":\"AKIA1\",\"secret_access_key\":\"x\",\"colour\":\"x\"}",
         "colour"},
        {"aws", "{\"access_key_id\":5,\"secret_access_key\":\"x\"}", "access_key_id"},
        {"gcp",
         "{\"type\":\"user\",\"project_id\":\"p\",\"private_key\":\"k\",\"client_email\":"
         "\"e\"}",
         "type"},
        {"slack", "{\"webhook_url\":\"http://hooks.example/x\"}", "webhook_url"},
        {"slack", "{\"webhook_url\":\"https://169.254.169.254/latest\"}", "webhook_url"},
        {"slack", "{\"webhook_url\":\"ftp://hooks.example/x\"}", "webhook_url"},
        {"smtp", "{\"host\":\"h\",\"username\":\"u\",\"password\":\"p\",\"port\":70000}", "port"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        json_t *doc = json_loads(bad[i].json, 0, NULL), *meta = NULL;
        cvg_err_t err;
        cvg_err_clear(&err);
        CU_ASSERT_EQUAL(cvg_cred_check(bad[i].provider, doc, NULL, &meta, &err), CVG_EINVAL);
        CU_ASSERT_STRING_EQUAL(err.field, bad[i].field);
        CU_ASSERT_PTR_NULL(meta);
        json_decref(doc);
    }
    json_t *doc = json_loads("{\"access_key_id\":\"AKIAABCDEFGHWXYZ\",\"secret_access_key\":"
                             "\"wJalrXUtnFEMI\",\"region\":\"eu-west-1\"}",
                             0, NULL),
           *meta = NULL;
    /* a webhook: https to a public host; plain http only to an allowed one,
     * and the refusal never quotes the URL (it is the secret) */
    static cvg_outbound_t allow;
    CU_ASSERT_EQUAL_FATAL(cvg_outbound_parse("127.0.0.1", &allow, NULL), 0);
    static const struct {
        const char *url;
        bool with_policy;
        int rc;
    } hooks[] = {
        {"https://hooks.slack.com/services/T0/B0/SECRETTOKEN", false, 0},
        {"http://127.0.0.1:9/services/T0/B0/SECRETTOKEN", true, 0},
        {"http://127.0.0.1:9/services/T0/B0/SECRETTOKEN", false, CVG_EINVAL},
        {"http://10.0.0.7/services/T0/B0/SECRETTOKEN", true, CVG_EINVAL},
        /* a mail URL the outbound rules would let through is no webhook */
        {"smtps://mail.example.com/SECRETTOKEN", false, CVG_EINVAL},
        {"smtp://127.0.0.1/SECRETTOKEN", true, CVG_EINVAL},
    };
    for (size_t i = 0; i < sizeof(hooks) / sizeof(hooks[0]); i++) {
        char text[300];
        snprintf(text, sizeof(text), "{\"webhook_url\": \"%s\"}", hooks[i].url);
        json_t *hook = json_loads(text, 0, NULL), *hmeta = NULL;
        cvg_err_t err;
        cvg_err_clear(&err);
        CU_ASSERT_EQUAL(
            cvg_cred_check("slack", hook, hooks[i].with_policy ? &allow : NULL, &hmeta, &err),
            hooks[i].rc);
        CU_ASSERT_PTR_NULL(strstr(err.message, "SECRETTOKEN"));
        json_decref(hmeta);
        json_decref(hook);
    }
    CU_ASSERT_EQUAL(cvg_cred_check("aws", doc, NULL, &meta, NULL), 0);
    char *m = json_dumps(meta, JSON_COMPACT);
    CU_ASSERT_PTR_NULL(strstr(m, "wJalr"));
    CU_ASSERT_PTR_NULL(strstr(m, "AKIAABCDEFGHWXYZ"));
    CU_ASSERT_PTR_NOT_NULL(strstr(m, "eu-west-1"));
    free(m);
    json_decref(meta);
    json_decref(doc);
    CU_ASSERT_FALSE(cvg_cred_provider_ok("oracle"));
}

static CU_TestInfo tests[] = {
    {"test_crypto_hmac_sha256_vectors", test_crypto_hmac_sha256_vectors},
    {"test_crypto_aead", test_crypto_aead},
    {"test_crypto_base64", test_crypto_base64},
    {"test_crypto_keyring", test_crypto_keyring},
    {"test_crypto_credential_envelope", test_crypto_credential_envelope},
    {"test_crypto_credential_shapes", test_crypto_credential_shapes},
    CU_TEST_INFO_NULL,
};

const cvg_suite_t suite_crypto = {"unit_crypto", NULL, NULL, tests, 60};
