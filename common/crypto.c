/*
 * Cryptographic primitives (see crypto.h) on OpenSSL 3.
 */
#include "common/crypto.h"
#include "common/err.h"
#include "common/id.h"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

/* HMAC and SHA-256 fetched once: HMAC() fetches both on every call, which
 * was a tenth of an authenticated request. Each thread also keeps one
 * context keyed with the last key it used: the API key hash uses one key
 * (the pepper) for the process's life, and re-initialising a keyed context
 * costs a quarter of setting up a new one. */
static EVP_MAC *hmac_alg;
static pthread_key_t hmac_ctx_key;

typedef struct hmac_tls {
    EVP_MAC_CTX *ctx;
    size_t key_len;
    unsigned char key[64];
} hmac_tls_t;

static void hmac_tls_free(void *p)
{
    hmac_tls_t *t = p;
    if (t == NULL)
        return;
    EVP_MAC_CTX_free(t->ctx);
    OPENSSL_cleanse(t->key, sizeof(t->key));
    free(t);
}

static void fetch_hmac(void)
{
    hmac_alg = EVP_MAC_fetch(NULL, "HMAC", NULL);
    pthread_key_create(&hmac_ctx_key, hmac_tls_free);
}

/* The thread's context, keyed with key; NULL when it cannot be had. */
static EVP_MAC_CTX *hmac_ctx(const void *key, size_t key_len)
{
    if (hmac_alg == NULL || key_len > sizeof(((hmac_tls_t *)0)->key))
        return NULL;
    hmac_tls_t *t = pthread_getspecific(hmac_ctx_key);
    if (t == NULL) {
        t = calloc(1, sizeof(*t));
        if (t == NULL || (t->ctx = EVP_MAC_CTX_new(hmac_alg)) == NULL ||
            pthread_setspecific(hmac_ctx_key, t) != 0) {
            hmac_tls_free(t);
            return NULL;
        }
    }
    if (t->key_len == key_len && key_len > 0 && CRYPTO_memcmp(t->key, key, key_len) == 0)
        return EVP_MAC_init(t->ctx, NULL, 0, NULL) == 1 ? t->ctx : NULL;
    char digest[] = "SHA256";
    OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
                           OSSL_PARAM_construct_end()};
    t->key_len = 0;
    if (EVP_MAC_init(t->ctx, key, key_len, params) != 1)
        return NULL;
    memcpy(t->key, key, key_len);
    t->key_len = key_len;
    return t->ctx;
}

void cvg_hmac_sha256(const void *key, size_t key_len, const void *data, size_t len,
                     unsigned char out[CVG_HMAC_LEN])
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, fetch_hmac);
    EVP_MAC_CTX *c = hmac_ctx(key, key_len);
    size_t n = 0;
    if (c == NULL || EVP_MAC_update(c, data, len) != 1 ||
        EVP_MAC_final(c, out, &n, CVG_HMAC_LEN) != 1 || n != CVG_HMAC_LEN) {
        /* the one-shot form, should the provider refuse the context */
        unsigned int m = CVG_HMAC_LEN;
        HMAC(EVP_sha256(), key, (int)key_len, data, len, out, &m);
    }
}

int cvg_aead_seal(const unsigned char key[CVG_AES_KEY_LEN], const void *aad, size_t aad_len,
                  const void *plain, size_t len, unsigned char *out, size_t *out_len)
{
    *out_len = 0;
    if (len > INT32_MAX || aad_len > INT32_MAX)
        return CVG_ETOOBIG;
    unsigned char *nonce = out, *ct = out + CVG_GCM_NONCE_LEN;
    if (cvg_random_bytes(nonce, CVG_GCM_NONCE_LEN) != 0)
        return CVG_EIO;
    EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
    if (c == NULL)
        return CVG_ENOMEM;
    int n = 0, rc = CVG_EIO;
    size_t written = 0;
    if (EVP_EncryptInit_ex(c, EVP_aes_256_gcm(), NULL, NULL, NULL) != 1 ||
        EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_IVLEN, CVG_GCM_NONCE_LEN, NULL) != 1 ||
        EVP_EncryptInit_ex(c, NULL, NULL, key, nonce) != 1)
        goto out;
    if (aad_len > 0 && EVP_EncryptUpdate(c, NULL, &n, aad, (int)aad_len) != 1)
        goto out;
    if (len > 0 && EVP_EncryptUpdate(c, ct, &n, plain, (int)len) != 1)
        goto out;
    written = len > 0 ? (size_t)n : 0;
    if (EVP_EncryptFinal_ex(c, ct + written, &n) != 1)
        goto out;
    written += (size_t)n;
    if (EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_GET_TAG, CVG_GCM_TAG_LEN, ct + written) != 1)
        goto out;
    *out_len = CVG_GCM_NONCE_LEN + written + CVG_GCM_TAG_LEN;
    rc = 0;
out:
    EVP_CIPHER_CTX_free(c);
    return rc;
}

int cvg_aead_open(const unsigned char key[CVG_AES_KEY_LEN], const void *aad, size_t aad_len,
                  const unsigned char *sealed, size_t len, unsigned char *out, size_t *out_len)
{
    *out_len = 0;
    if (len < CVG_GCM_NONCE_LEN + CVG_GCM_TAG_LEN || len > INT32_MAX || aad_len > INT32_MAX)
        return CVG_EAUTH;
    const unsigned char *nonce = sealed, *ct = sealed + CVG_GCM_NONCE_LEN;
    size_t ct_len = len - CVG_GCM_NONCE_LEN - CVG_GCM_TAG_LEN;
    unsigned char tag[CVG_GCM_TAG_LEN];
    memcpy(tag, ct + ct_len, CVG_GCM_TAG_LEN);
    EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
    if (c == NULL)
        return CVG_ENOMEM;
    int n = 0, rc = CVG_EAUTH;
    size_t written = 0;
    if (EVP_DecryptInit_ex(c, EVP_aes_256_gcm(), NULL, NULL, NULL) != 1 ||
        EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_IVLEN, CVG_GCM_NONCE_LEN, NULL) != 1 ||
        EVP_DecryptInit_ex(c, NULL, NULL, key, nonce) != 1)
        goto out;
    if (aad_len > 0 && EVP_DecryptUpdate(c, NULL, &n, aad, (int)aad_len) != 1)
        goto out;
    if (ct_len > 0 && EVP_DecryptUpdate(c, out, &n, ct, (int)ct_len) != 1)
        goto out;
    written = ct_len > 0 ? (size_t)n : 0;
    if (EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_TAG, CVG_GCM_TAG_LEN, tag) != 1)
        goto out;
    if (EVP_DecryptFinal_ex(c, out + written, &n) != 1) {
        cvg_wipe(out, written);
        goto out;
    }
    *out_len = written + (size_t)n;
    rc = 0;
out:
    EVP_CIPHER_CTX_free(c);
    return rc;
}

char *cvg_base64_encode(const void *data, size_t len)
{
    if (len > (SIZE_MAX / 4) * 3 - 3)
        return NULL;
    size_t cap = 4 * ((len + 2) / 3) + 1;
    char *out = malloc(cap);
    if (out == NULL)
        return NULL;
    int n = EVP_EncodeBlock((unsigned char *)out, data, (int)len);
    out[n] = '\0';
    return out;
}

unsigned char *cvg_base64_decode(const char *text, size_t *len)
{
    size_t n = strlen(text);
    if (n == 0 || n % 4 != 0 || n > INT32_MAX)
        return NULL;
    unsigned char *out = malloc(n / 4 * 3 + 1);
    if (out == NULL)
        return NULL;
    int got = EVP_DecodeBlock(out, (const unsigned char *)text, (int)n);
    if (got < 0) {
        free(out);
        return NULL;
    }
    /* EVP_DecodeBlock counts padding as zero bytes. */
    size_t pad = (text[n - 1] == '=') + (text[n - 2] == '=');
    *len = (size_t)got - pad;
    return out;
}

void cvg_hex(const void *data, size_t len, char *out)
{
    static const char digits[] = "0123456789abcdef";
    const unsigned char *p = data;
    for (size_t i = 0; i < len; i++) {
        out[2 * i] = digits[p[i] >> 4];
        out[2 * i + 1] = digits[p[i] & 15];
    }
    out[2 * len] = '\0';
}

bool cvg_secure_equal(const void *a, const void *b, size_t len)
{
    return CRYPTO_memcmp(a, b, len) == 0;
}

void cvg_wipe(void *p, size_t len)
{
    if (p != NULL)
        OPENSSL_cleanse(p, len);
}
