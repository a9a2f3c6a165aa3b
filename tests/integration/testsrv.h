/*
 * Test servers for the integration tests, started from tests/servers/ as
 * processes of a cluster (stopped by cluster_destroy):
 *   "s3"      s3rver, an S3-compatible object store (npm, `make testtools`)
 *   "smtp"    an SMTP server (Debian's python3-aiosmtpd)
 *   "webhook" an HTTP receiver for webhook calls (Python's standard library)
 * Each listens on 127.0.0.1 on a port it picks and records what it receives
 * under <dir>/<name>/, one JSON file per message or request. A name is a
 * kind, or a kind and a suffix for a second server ("webhook-2").
 */
#ifndef CVG_TESTSRV_H
#define CVG_TESTSRV_H

#include "tests/integration/harness.h"

/* The access key id and secret s3rver accepts. */
#define TESTSRV_S3_KEY    "S3RVER"
#define TESTSRV_S3_SECRET "S3RVER"
/* A tenant's aws credential with them, and the same with a session token
 * (temporary credentials). */
#define TESTSRV_S3_CREDENTIAL                      \
    "{\"access_key_id\": \"" TESTSRV_S3_KEY "\", " \
    "\"secret_access_key\": \"" TESTSRV_S3_SECRET "\"}"
#define TESTSRV_S3_CREDENTIAL_TOKEN                      \
    "{\"access_key_id\": \"" TESTSRV_S3_KEY "\", "       \
    "\"secret_access_key\": \"" TESTSRV_S3_SECRET "\", " \
    "\"session_token\": \"tok-123\"}"

/* The login the smtp server is started with (--auth user:password). */
#define TESTSRV_SMTP_USER     "cvg"
#define TESTSRV_SMTP_PASSWORD "s3cret"

/* A tenant's smtp credential (JSON) for the smtp server on port: that
 * login, plain (no TLS), from "Convergence Alerts <alerts@convergence.test>". */
void testsrv_smtp_credential(int port, char *out, size_t size);

/* A tenant's slack credential (JSON): a webhook URL on the webhook server
 * on port. */
void testsrv_slack_credential(int port, char *out, size_t size);

/* Starts server name with extra launcher arguments (NULL-terminated, may be
 * NULL; see the launcher's header), waits for its ready line (30 s at most,
 * less when it exits first) and sets *port_out. NULL, with its log on
 * stderr, when it did not get ready. */
proc_t *testsrv_start(cluster_t *c, const char *name, const char *const *args, int *port_out);

/* Its data directory, <dir>/<name>. */
void testsrv_dir(const cluster_t *c, const char *name, char *out, size_t size);

/* How many messages (smtp) or requests (webhook) it has recorded. */
int testsrv_count(const cluster_t *c, const char *name);

/* Waits until it has recorded at least n; false after timeout_ms. */
bool testsrv_wait_count(const cluster_t *c, const char *name, int n, int timeout_ms);

/* Recorded message or request i (0: the first) as JSON, or NULL;
 * json_decref it. */
json_t *testsrv_received(const cluster_t *c, const char *name, int i);

/* Sets how it answers from now on (its reply.json, see the launcher);
 * NULL goes back to the default answer. 0 on success. */
int testsrv_set_reply(const cluster_t *c, const char *name, const char *json);

/* One S3 request to s3rver on port, SigV4-signed by libcurl with the keys
 * above, x-amz-content-sha256 set; path is "/bucket/key" or "/bucket?...",
 * headers NULL-terminated "Name: value" strings. Returns the status (0 on
 * transport failure); http_reply_free(reply) afterwards. */
long testsrv_s3(int port, const char *method, const char *path, const char *const *headers,
                const void *body, size_t len, http_reply_t *reply);

#endif
