/*
 * ZeroMQ socket helpers (see sock.h).
 */
#include "common/sock.h"
#include "common/fs.h"
#include "common/str.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#define DEFAULT_LINGER_MS 200

/* libzmq unlinks an existing ipc socket file when it binds, which would
 * silently steal the endpoint of a running process: look first. */
static int ipc_prepare(const char *endpoint, cvg_err_t *err)
{
    const char *path = endpoint + strlen("ipc://");
    char dir[1024];
    if (cvg_str_copy(dir, sizeof(dir), path) != 0)
        return cvg_err_set(err, CVG_ETOOBIG, endpoint, "ipc path too long");
    char *slash = strrchr(dir, '/');
    if (slash != NULL && slash != dir) {
        *slash = '\0';
        int rc = cvg_fs_mkdir_p(dir, 0700, err);
        if (rc != 0)
            return rc;
    }
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return 0;
    struct sockaddr_un addr;
    memset(&addr, 0, sizeof(addr));
    addr.sun_family = AF_UNIX;
    cvg_str_copy(addr.sun_path, sizeof(addr.sun_path), path);
    int live = connect(fd, (struct sockaddr *)&addr, sizeof(addr)) == 0;
    close(fd);
    if (live)
        return cvg_err_set(err, CVG_EEXIST, endpoint, "%s is in use by another running process",
                           endpoint);
    return 0;
}

zsock_t *cvg_sock_bind(int type, const char *endpoint, cvg_err_t *err)
{
    if (cvg_str_starts(endpoint, "ipc://") && ipc_prepare(endpoint, err) != 0)
        return NULL;
    zsock_t *s = zsock_new(type);
    if (s == NULL) {
        cvg_err_set(err, CVG_ENOMEM, endpoint, "cannot create socket for %s", endpoint);
        return NULL;
    }
    zsock_set_linger(s, DEFAULT_LINGER_MS);
    if (zsock_bind(s, "%s", endpoint) < 0) {
        cvg_err_set(err, CVG_EIO, endpoint, "cannot bind %s: %s", endpoint,
                    zmq_strerror(zmq_errno()));
        zsock_destroy(&s);
        return NULL;
    }
    return s;
}

zsock_t *cvg_sock_connect(int type, const char *endpoint, cvg_err_t *err)
{
    zsock_t *s = zsock_new(type);
    if (s == NULL) {
        cvg_err_set(err, CVG_ENOMEM, endpoint, "cannot create socket for %s", endpoint);
        return NULL;
    }
    zsock_set_linger(s, DEFAULT_LINGER_MS);
    if (zsock_connect(s, "%s", endpoint) < 0) {
        cvg_err_set(err, CVG_EIO, endpoint, "cannot connect %s: %s", endpoint,
                    zmq_strerror(zmq_errno()));
        zsock_destroy(&s);
        return NULL;
    }
    return s;
}
