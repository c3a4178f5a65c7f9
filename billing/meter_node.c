/* meter_node.c - see meter_node.h: node ids as byte locks on a file. */
#include "billing/meter_node.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "common/mem.h"

struct meter_node {
    int fd;
    int id;
};

meter_node *meter_node_claim(const char *state_path, int preferred, tg_err *err)
{
    char path[4096];
    snprintf(path, sizeof path, "%s.meter-nodes", state_path);
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0) {
        tg_fail(err, 500, "metering: node lock file %s: %s", path, strerror(errno));
        return NULL;
    }
    if (preferred < 0 || preferred >= METER_NODE_COUNT) preferred = 0;
    for (int i = 0; i < METER_NODE_COUNT; i++) {
        int id = (preferred + i) % METER_NODE_COUNT;
        struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = id, .l_len = 1};
        if (fcntl(fd, F_OFD_SETLK, &fl) == 0) {
            meter_node *n = xmalloc(sizeof *n);
            n->fd = fd;
            n->id = id;
            return n;
        }
        if (errno != EAGAIN && errno != EACCES) {
            tg_fail(err, 500, "metering: node lock file %s: %s", path, strerror(errno));
            goto out_close;
        }
    }
    tg_fail(err, 500, "metering: all %d node ids of %s are held by running gateways",
            METER_NODE_COUNT, state_path);
out_close:
    close(fd);
    return NULL;
}

int meter_node_id(const meter_node *n)
{
    return n->id;
}

void meter_node_release(meter_node *n)
{
    if (!n) return;
    close(n->fd);   /* drops the lock */
    free(n);
}
