/*
 * bare_mhd.c - the ceiling of the HTTP library itself, for `make bench`:
 * libmicrohttpd with its epoll thread pool answering every request with a
 * fixed 16-byte JSON body, keep-alive on. No Redis, no auth, no parsing.
 * Usage: bare_mhd PORT THREADS
 */
#include <microhttpd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static struct MHD_Response *fixed;

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
                                  const char *method, const char *version,
                                  const char *data, size_t *size, void **state)
{
    (void)cls; (void)url; (void)method; (void)version; (void)data;
    if (!*state) { /* headers: wait for the body, as a real handler must */
        *state = (void *)1;
        return MHD_YES;
    }
    if (*size) {
        *size = 0;
        return MHD_YES;
    }
    return MHD_queue_response(c, MHD_HTTP_OK, fixed);
}

static void on_signal(int sig)
{
    (void)sig;
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: bare_mhd PORT THREADS\n");
        return 2;
    }
    static const char body[] = "{\"result\":\"OK\"}";
    fixed = MHD_create_response_from_buffer(strlen(body), (void *)body, MHD_RESPMEM_PERSISTENT);
    MHD_add_response_header(fixed, "Content-Type", "application/json");
    struct MHD_Daemon *d = MHD_start_daemon(
        MHD_USE_EPOLL_INTERNAL_THREAD | MHD_USE_TURBO, (uint16_t)atoi(argv[1]), NULL, NULL,
        on_request, NULL, MHD_OPTION_THREAD_POOL_SIZE, (unsigned)atoi(argv[2]),
        MHD_OPTION_CONNECTION_TIMEOUT, 60u, MHD_OPTION_END);
    if (!d) {
        perror("MHD_start_daemon");
        return 1;
    }
    signal(SIGTERM, on_signal);
    signal(SIGINT, on_signal);
    pause();
    MHD_stop_daemon(d);
    MHD_destroy_response(fixed);
    return 0;
}
