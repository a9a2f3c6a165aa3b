/*
 * GET /metrics: the gateway's counters in the Prometheus text format.
 */
#include "common/buf.h"
#include "common/emitter.h"
#include "gateway/gateway.h"

#include <stdlib.h>

static void counter(cvg_buf_t *b, const char *name, const char *help, const char *labels,
                    unsigned long long v)
{
    cvg_buf_printf(b, "# HELP %s %s\n# TYPE %s counter\n%s%s %llu\n", name, help, name, name,
                   labels, v);
}

void gw_metrics(gw_req_t *req, gw_resp_t *resp)
{
    gw_t *gw = req->gw;
    cvg_buf_t b;
    cvg_buf_init(&b, 64 * 1024);
    counter(&b, "cvg_gateway_requests_total", "HTTP requests received.", "",
            atomic_load(&gw->requests));
    counter(&b, "cvg_gateway_client_errors_total", "Responses with a 4xx status.", "",
            atomic_load(&gw->responses_4xx));
    counter(&b, "cvg_gateway_server_errors_total", "Responses with a 5xx status.", "",
            atomic_load(&gw->responses_5xx));
    counter(&b, "cvg_gateway_auth_lookups_total",
            "API key lookups that went to the warehouse (cache misses).", "",
            atomic_load(&gw->auth_lookups));
    counter(&b, "cvg_gateway_auth_refused_total", "Requests refused by authentication.", "",
            atomic_load(&gw->auth_refused));
    counter(&b, "cvg_gateway_run_cache_hits_total",
            "Run reads answered from memory (finished runs, CVG_RUN_CACHE_MS).", "",
            atomic_load(&gw->run_cache_hits));
    counter(&b, "cvg_gateway_rate_limited_total",
            "Requests refused by the rate limit (429 rate_limited; a spent quota's 429 is a 4xx).",
            "", atomic_load(&gw->rate_limited));
    counter(&b, "cvg_gateway_body_refused_total",
            "Requests refused with 503 because the bodies held reached API_MAX_BUFFERED_BYTES.", "",
            atomic_load(&gw->body_refused));
    cvg_buf_printf(&b,
                   "# HELP cvg_gateway_body_bytes Request body bytes held, all connections "
                   "together.\n# TYPE cvg_gateway_body_bytes gauge\ncvg_gateway_body_bytes %llu\n",
                   atomic_load(&gw->body_bytes));
    cvg_buf_printf(&b,
                   "# HELP cvg_gateway_events_pending Run events of setup pipelines not yet "
                   "acknowledged by the logger.\n# TYPE cvg_gateway_events_pending gauge\n"
                   "cvg_gateway_events_pending %zu\n",
                   gw->emitter ? cvg_emitter_pending(gw->emitter) : (size_t)0);
    resp->status = 200;
    resp->len = b.len;
    resp->body = cvg_buf_detach(&b);
    resp->content_type = "text/plain; version=0.0.4";
}
