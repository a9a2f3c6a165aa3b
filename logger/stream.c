/*
 * The logger's stream (see stream.h).
 */
#include "logger/stream.h"
#include "common/buf.h"
#include "common/msg.h"

#include <stdio.h>
#include <string.h>

void lgr_stream_topic(const cvg_event_t *ev, char *out, size_t size)
{
    snprintf(out, size, "%s%c%s%c%s", ev->tenant_id, LGR_TOPIC_SEP, ev->pipeline_id, LGR_TOPIC_SEP,
             ev->run_id);
}

void lgr_stream_tenant_prefix(const char *tenant, char *out, size_t size)
{
    if (tenant == NULL || tenant[0] == '\0')
        snprintf(out, size, "%s", "");
    else
        snprintf(out, size, "%s%c", tenant, LGR_TOPIC_SEP);
}

static int send2(zsock_t *pub, const void *topic, size_t tlen, const void *data, size_t len)
{
    void *raw = zsock_resolve(pub);
    if (zmq_send(raw, topic, tlen, ZMQ_SNDMORE | ZMQ_DONTWAIT) < 0)
        return CVG_EIO;
    if (zmq_send(raw, data, len, ZMQ_DONTWAIT) < 0)
        return CVG_EIO;
    return 0;
}

int lgr_stream_publish(zsock_t *pub, const cvg_event_t *ev, const void *payload, size_t len)
{
    char topic[LGR_TOPIC_MAX];
    lgr_stream_topic(ev, topic, sizeof(topic));
    return send2(pub, topic, strlen(topic), payload, len);
}

int lgr_stream_heartbeat(zsock_t *pub, uint64_t committed)
{
    char body[64];
    snprintf(body, sizeof(body), "{\"committed\":%llu}", (unsigned long long)committed);
    cvg_ctl_t ctl = {.op = "heartbeat", .body = body};
    cvg_id_new(ctl.id);
    cvg_buf_t b;
    cvg_buf_init(&b, 4096);
    int rc = cvg_msg_encode_ctl(&ctl, &b);
    if (rc == 0)
        rc = send2(pub, LGR_HEARTBEAT_TOPIC, strlen(LGR_HEARTBEAT_TOPIC), b.data, b.len);
    cvg_buf_cleanup(&b);
    return rc;
}
