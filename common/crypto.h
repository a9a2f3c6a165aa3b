/*
 * Cryptographic primitives on OpenSSL: HMAC-SHA256, AES-256-GCM sealing
 * with additional authenticated data, base64, hex, and constant-time
 * comparison. Keys never leave the caller's buffers; nothing here logs.
 */
#ifndef CVG_CRYPTO_H
#define CVG_CRYPTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CVG_AES_KEY_LEN   32
#define CVG_GCM_NONCE_LEN 12
#define CVG_GCM_TAG_LEN   16
#define CVG_HMAC_LEN      32

/* HMAC-SHA256 of data under key into out (32 bytes). */
void cvg_hmac_sha256(const void *key, size_t key_len, const void *data, size_t len,
                     unsigned char out[CVG_HMAC_LEN]);

/*
 * AES-256-GCM. seal writes nonce || ciphertext || tag into out, which must
 * hold len + CVG_GCM_NONCE_LEN + CVG_GCM_TAG_LEN bytes; the nonce is fresh
 * from the CSPRNG. open reverses it and returns CVG_EAUTH when the key, the
 * AAD or any byte is wrong. *out_len gets the length written.
 */
int cvg_aead_seal(const unsigned char key[CVG_AES_KEY_LEN], const void *aad, size_t aad_len,
                  const void *plain, size_t len, unsigned char *out, size_t *out_len);
int cvg_aead_open(const unsigned char key[CVG_AES_KEY_LEN], const void *aad, size_t aad_len,
                  const unsigned char *sealed, size_t len, unsigned char *out, size_t *out_len);

/* Base64 (standard alphabet, padded). encode returns a heap string (free()),
 * decode a heap buffer; NULL on bad input or no memory. */
char *cvg_base64_encode(const void *data, size_t len);
unsigned char *cvg_base64_decode(const char *text, size_t *len);

/* Lowercase hex of len bytes into out (2 * len + 1 bytes). */
void cvg_hex(const void *data, size_t len, char *out);

/* Equal in time independent of the content (lengths may leak). */
bool cvg_secure_equal(const void *a, const void *b, size_t len);

/* Overwrites memory so secrets do not linger. */
void cvg_wipe(void *p, size_t len);

#endif
