/*
 * Fuzz target: the smaller checks that take a client's text, one picked by
 * the first byte: request bodies (cvg_json_parse, common/json.c); UTF-8
 * (common/utf8.c); a tenant's identity at signup (tenant id, e-mail,
 * company name: common/tenant.c); e-mail addresses, mailboxes, header text
 * and whole messages a notification step builds (common/mail.c); dates and
 * timestamps of parameters (cvg_time_parse_iso); field paths of error
 * messages made from a client's keys (cvg_path_join, with the base in a
 * buffer of its exact size); ids and API keys a request names; the YAML
 * loader alone (common/yaml.c), faster than through a whole pipeline.
 */
#include "common/apikey.h"
#include "common/id.h"
#include "common/json.h"
#include "common/mail.h"
#include "common/str.h"
#include "common/tenant.h"
#include "common/time.h"
#include "common/utf8.h"
#include "common/yaml.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void json_text(const char *s, size_t n)
{
    json_t *doc = NULL;
    cvg_err_t err;
    cvg_err_clear(&err);
    cvg_json_depth(s, n);
    if (cvg_json_parse(s, n, CVG_JSON_MAX_DEPTH, &doc, &err) == 0)
        json_decref(doc);
}

static void utf8(const char *s, size_t n, char *copy)
{
    bool valid = cvg_utf8_valid(s, n);
    bool plain = cvg_utf8_plain(copy);
    size_t chars = cvg_utf8_chars(copy);
    if (plain && (chars > strlen(copy) || !cvg_utf8_valid(copy, strlen(copy))))
        abort();
    cvg_utf8_clean(copy);
    if (!cvg_utf8_valid(copy, strlen(copy)))
        abort(); /* utf8.h: every byte not in a well-formed sequence is '?' now */
    (void)valid;
}

static void tenant(const char *s)
{
    char why[300], echo[80], ds[CVG_DATASET_MAX], name[CVG_COMPANY_MAX * 4 + 1];
    cvg_tenant_echo(s, echo, sizeof(echo));
    cvg_tenant_echo(s, echo, 5);
    cvg_tenant_id_check(s, why, sizeof(why));
    cvg_tenant_dataset(s, ds);
    cvg_email_check(s, why, sizeof(why));
    cvg_company_name_check(s, name, sizeof(name), why, sizeof(why));
    cvg_company_name_check(s, name, 8, why, sizeof(why));
}

/* from, to (comma-separated), subject, then the body, one a line. */
static void mail(char *s, uint8_t used)
{
    char name[CVG_MAIL_NAME_MAX + 1], addr[CVG_MAIL_ADDR_MAX + 1];
    cvg_err_t err;
    cvg_err_clear(&err);
    cvg_mail_addr_ok(s);
    cvg_mail_utf8_ok(s);
    cvg_buf_t out;
    cvg_buf_init(&out, CVG_MAIL_MAX_BYTES);
    if (cvg_mail_utf8_ok(s))
        cvg_mail_header_text(&out, s, used % 100);
    cvg_buf_cleanup(&out);

    char *fields[4] = {s, "", "", ""};
    for (int i = 1; i < 4; i++) {
        char *nl = strchr(fields[i - 1], '\n');
        if (nl == NULL)
            break;
        *nl = '\0';
        fields[i] = nl + 1;
    }
    cvg_mail_mailbox(fields[0], name, addr, &err);
    const char *to[8];
    size_t nto = 0;
    for (char *p = fields[1]; nto < 8;) {
        to[nto++] = p;
        char *comma = strchr(p, ',');
        if (comma == NULL)
            break;
        *comma = '\0';
        p = comma + 1;
    }
    cvg_mail_t m = {.from = fields[0],
                    .to = to,
                    .nto = nto,
                    .cc = to + 1,
                    .ncc = nto - 1,
                    .subject = fields[2],
                    .body = fields[3],
                    .message_id = "<0190a3c4@convergence.invalid>",
                    .date_ms = (int64_t)used * 86400000 * 365};
    cvg_buf_init(&out, CVG_MAIL_MAX_BYTES);
    cvg_mail_build(&m, &out, &err);
    cvg_buf_cleanup(&out);
}

/* base, then key after the first NUL or newline (copy is s as a C string);
 * the base in a buffer of its exact size, so reading past its end shows. */
static void path(const char *s, size_t n, const char *copy, uint8_t size)
{
    size_t cut = 0;
    while (cut < n && s[cut] != '\0' && s[cut] != '\n')
        cut++;
    size_t out_size = size ? size : 256;
    char *base = malloc(cut + 1);
    if (base == NULL)
        return;
    memcpy(base, s, cut);
    base[cut] = '\0';
    const char *key = cut < n ? copy + cut + 1 : "";
    char *out = malloc(out_size);
    if (out != NULL) {
        cvg_path_join(out, out_size, base, key);
        if (strlen(out) >= out_size)
            abort();
    }
    free(out);
    free(base);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    uint8_t pick = data[0], arg = data[1];
    const char *s = (const char *)data + 2;
    size_t n = size - 2;
    char *copy = malloc(n + 1); /* the text as a C string (cut at a NUL) */
    if (copy == NULL)
        return 0;
    memcpy(copy, s, n);
    copy[n] = '\0';
    cvg_err_t err;
    cvg_err_clear(&err);
    switch (pick % 8) {
    case 0:
        json_text(s, n);
        break;
    case 1:
        utf8(s, n, copy);
        break;
    case 2:
        tenant(copy);
        break;
    case 3:
        mail(copy, arg);
        break;
    case 4: {
        int64_t ms = 0;
        cvg_time_parse_iso(copy, &ms);
        char iso[CVG_TIME_ISO_LEN], day[CVG_TIME_DATE_LEN];
        cvg_time_format_iso(ms, iso);
        cvg_time_format_date(ms, day);
        break;
    }
    case 5:
        path(s, n, copy, arg);
        break;
    case 6:
        cvg_id_valid(copy);
        cvg_id_time_ms(copy);
        cvg_apikey_well_formed(copy);
        break;
    default: {
        json_t *doc = NULL;
        if (cvg_yaml_load_string(s, n, "fuzz.yml", &doc, &err) == 0)
            json_decref(doc);
    }
    }
    free(copy);
    return 0;
}
