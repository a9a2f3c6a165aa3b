/*
 * The message codec: msgpack maps with a version ("v") and a type ("t"),
 * one message per ZeroMQ frame. Decoding checks the structure of the bytes
 * before msgpack-c sees them, so a malformed, truncated, wrong-version or
 * oversized message is an error, never a crash or a huge allocation.
 */
#ifndef CVG_MSG_H
#define CVG_MSG_H

#include "common/buf.h"
#include "common/err.h"
#include "common/proto.h"

/* Appends the encoding of m to out (which should be empty). The buffer's own
 * maximum and CVG_MSG_MAX both bound the size. 0, CVG_ETOOBIG, CVG_EINVAL. */
int cvg_msg_encode(const cvg_msg_t *m, cvg_buf_t *out);

/* Shorthands that wrap one part in a cvg_msg_t. */
int cvg_msg_encode_job(const cvg_job_t *job, cvg_buf_t *out);
int cvg_msg_encode_event(const cvg_event_t *ev, cvg_buf_t *out);
int cvg_msg_encode_ctl(const cvg_ctl_t *ctl, cvg_buf_t *out);
int cvg_msg_encode_worker(const cvg_worker_msg_t *w, cvg_buf_t *out);

/* An enqueue message of n runs (at most CVG_ENQUEUE_MAX) given by pointer,
 * all borrowed. 0, CVG_ETOOBIG (too many runs, or over the buffer). */
int cvg_msg_encode_enqueue(const char *id, const cvg_enq_run_t *const *runs, size_t n,
                           cvg_buf_t *out);

/*
 * Decodes len bytes into out (cleaned up with cvg_msg_cleanup, also after a
 * failure). Errors: CVG_ETOOBIG over CVG_MSG_MAX or a field over its
 * maximum, CVG_EVERSION for another version, CVG_EPROTO for anything
 * malformed; err names the field.
 */
int cvg_msg_decode(const void *data, size_t len, cvg_msg_t *out, cvg_err_t *err);

/* For a message that does not decode: when it is still an event map with
 * a valid id, copies the id (so the logger can reject it and stop its
 * sender resending). 0 or CVG_EPROTO. */
int cvg_msg_peek_event_id(const void *data, size_t len, char id[CVG_ID_LEN]);

/* For a message that does not decode: when it is still an enqueue map with
 * a valid id and a runs array (of at most CVG_ENQUEUE_MAX), copies the id
 * and sets *n to the number of runs, so the scheduler can answer each run
 * with the error instead of leaving its caller to time out. 0 or
 * CVG_EPROTO. */
int cvg_msg_peek_enqueue(const void *data, size_t len, char id[CVG_ID_LEN], size_t *n);

#endif
