/*
 * Test servers (see testsrv.h and tests/servers/).
 */
#include "tests/integration/testsrv.h"
#include "common/crypto.h"
#include "common/time.h"
#include "tests/tests.h"

#include <curl/curl.h>
#include <dirent.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define READY "ready 127.0.0.1:"

void testsrv_dir(const cluster_t *c, const char *name, char *out, size_t size)
{
    snprintf(out, size, "%s/%s", c->dir, name);
}

static off_t log_size(const cluster_t *c, const char *name)
{
    char path[700];
    snprintf(path, sizeof(path), "%s/%s.log", c->dir, name);
    struct stat st;
    return stat(path, &st) == 0 ? st.st_size : 0;
}

proc_t *testsrv_start(cluster_t *c, const char *name, const char *const *args, int *port_out)
{
    static const struct {
        const char *kind, *interpreter, *script;
    } kinds[] = {
        {"s3", "node", "s3.js"},
        /* Debian's python3 by its path: another one first in PATH (pyenv,
         * a virtualenv) would not see python3-aiosmtpd. */
        {"smtp", "/usr/bin/python3", "smtp.py"},
        {"webhook", "/usr/bin/python3", "webhook.py"},
    };
    size_t k = 0, kind_len = strcspn(name, "-");
    while (k < sizeof(kinds) / sizeof(kinds[0]) &&
           !(strlen(kinds[k].kind) == kind_len && strncmp(name, kinds[k].kind, kind_len) == 0))
        k++;
    if (k == sizeof(kinds) / sizeof(kinds[0])) {
        fprintf(stderr, "testsrv: no server kind for %s\n", name);
        return NULL;
    }
    char script[1200], dir[700];
    snprintf(script, sizeof(script), "%s/tests/servers/%s", source_dir(), kinds[k].script);
    testsrv_dir(c, name, dir, sizeof(dir));
    mkdir(dir, 0700);
    char *argv[24] = {(char *)kinds[k].interpreter, script, "0", dir};
    int n = 4;
    for (size_t i = 0; args && args[i] && n < 23; i++)
        argv[n++] = (char *)args[i];
    argv[n] = NULL;

    /* A restarted server appends to the same log: read past the old one. */
    off_t from = log_size(c, name);
    proc_t *p = cluster_spawn_argv(c, name, argv, NULL);
    if (p == NULL)
        return NULL;
    int64_t deadline = cvg_time_mono_ms() + 30000;
    for (;;) {
        char *log = cluster_log(c, name);
        const char *ready = strlen(log) > (size_t)from ? strstr(log + from, READY) : NULL;
        int port = ready ? (int)strtol(ready + strlen(READY), NULL, 10) : 0;
        if (port > 0) {
            free(log);
            if (port_out)
                *port_out = port;
            return p;
        }
        int status;
        bool exited = waitpid(p->pid, &status, WNOHANG) == p->pid;
        if (exited || cvg_time_mono_ms() > deadline) {
            fprintf(stderr, "testsrv: %s %s\n%s\n", name,
                    exited ? "exited before it was ready" : "not ready after 30 s", log + from);
            free(log);
            if (exited) {
                p->reaped = true;
                p->exit_status = status;
            } else {
                cluster_stop_proc(c, p, 2000);
            }
            return NULL;
        }
        free(log);
        cvg_time_sleep_ms(10);
    }
}

/* Recorded files are NNNNNN.json, numbered from 1 in arrival order. */
int testsrv_count(const cluster_t *c, const char *name)
{
    char dir[700];
    testsrv_dir(c, name, dir, sizeof(dir));
    DIR *d = opendir(dir);
    int n = 0;
    struct dirent *e;
    while (d && (e = readdir(d)) != NULL) {
        if (strlen(e->d_name) == 11 && strspn(e->d_name, "0123456789") == 6 &&
            strcmp(e->d_name + 6, ".json") == 0)
            n++;
    }
    if (d)
        closedir(d);
    return n;
}

bool testsrv_wait_count(const cluster_t *c, const char *name, int n, int timeout_ms)
{
    int64_t deadline = cvg_time_mono_ms() + timeout_ms;
    while (testsrv_count(c, name) < n) {
        if (cvg_time_mono_ms() > deadline)
            return false;
        cvg_time_sleep_ms(20);
    }
    return true;
}

json_t *testsrv_received(const cluster_t *c, const char *name, int i)
{
    char path[800];
    snprintf(path, sizeof(path), "%s/%s/%06d.json", c->dir, name, i + 1);
    return json_load_file(path, 0, NULL);
}

int testsrv_set_reply(const cluster_t *c, const char *name, const char *json)
{
    char path[800], tmp[810];
    snprintf(path, sizeof(path), "%s/%s/reply.json", c->dir, name);
    if (json == NULL)
        return unlink(path) == 0 || access(path, F_OK) != 0 ? 0 : -1;
    /* Written aside and renamed: the server never reads half of it. */
    snprintf(tmp, sizeof(tmp), "%s.tmp", path);
    FILE *f = fopen(tmp, "w");
    if (f == NULL)
        return -1;
    bool ok = fputs(json, f) >= 0;
    ok = fclose(f) == 0 && ok;
    return ok && rename(tmp, path) == 0 ? 0 : -1;
}

static size_t collect(void *data, size_t size, size_t n, void *ud)
{
    return cvg_buf_append(ud, data, size * n) == 0 ? size * n : 0;
}

long testsrv_s3(int port, const char *method, const char *path, const char *const *headers,
                const void *body, size_t len, http_reply_t *reply)
{
    /* libcurl 7.88 signs the payload but does not send its hash, which
     * S3 (and s3rver) require with SigV4. */
    unsigned char md[32];
    char hex[65], sha_header[100], url[1200];
    EVP_Digest(body ? body : "", body ? len : 0, md, NULL, EVP_sha256(), NULL);
    cvg_hex(md, sizeof(md), hex);
    snprintf(sha_header, sizeof(sha_header), "x-amz-content-sha256: %s", hex);
    snprintf(url, sizeof(url), "http://127.0.0.1:%d%s", port, path);
    struct curl_slist *hl = curl_slist_append(NULL, sha_header);
    for (size_t i = 0; headers && headers[i]; i++)
        hl = curl_slist_append(hl, headers[i]);
    cvg_buf_init(&reply->headers, 1 << 16);
    cvg_buf_init(&reply->body, 64 << 20);
    CURL *h = curl_easy_init();
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(h, CURLOPT_AWS_SIGV4, "aws:amz:us-east-1:s3");
    curl_easy_setopt(h, CURLOPT_USERPWD, TESTSRV_S3_KEY ":" TESTSRV_S3_SECRET);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hl);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, 20000L);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, collect);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &reply->body);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, collect);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, &reply->headers);
    if (body) {
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, (long)len);
    }
    long status = 0;
    if (curl_easy_perform(h) == CURLE_OK)
        curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
    reply->status = status;
    curl_slist_free_all(hl);
    curl_easy_cleanup(h);
    return status;
}

void testsrv_smtp_credential(int port, char *out, size_t size)
{
    snprintf(out, size,
             "{\"host\": \"127.0.0.1\", \"port\": %d, \"username\": \"" TESTSRV_SMTP_USER
             "\", \"password\": \"" TESTSRV_SMTP_PASSWORD "\", \"from\": \"Convergence Alerts "
             "<alerts@convergence.test>\", \"tls\": false}",
             port);
}

void testsrv_slack_credential(int port, char *out, size_t size)
{
    snprintf(out, size, "{\"webhook_url\": \"http://127.0.0.1:%d/services/T000/B000/XXXX\"}", port);
}
