/* pipebench: streams an input file through a node over pipes as fast as the node takes it,
 * times it, samples the node's RSS along the way and verifies every reply afterwards.
 *
 *   pipebench echo|broadcast INPUT -- COMMAND [ARGS...]
 *
 * Prints one tab-separated line:
 *   requests  seconds  msgs_per_s  node_cpu_seconds  peak_rss_kib  rss_at_10%..100%(comma list, KiB)
 *   verified(ok|FAIL:reason)
 * node_cpu_seconds is the node's user + system time (getrusage): on a shared, busy machine
 * requests / node_cpu_seconds is far steadier than wall-clock msgs/s.
 *
 * Timing runs from the first byte offered to the node (already started and waiting) to the end of
 * its output (it exits when stdin closes); start-up is measured apart. One process feeds and
 * drains the pipes with poll, never blocking on either, so the bench never stalls the node.
 *
 * Verification (after the clock stops): every input line must get exactly one reply, in input
 * order, addressed to the request's sender with in_reply_to equal to its msg_id and type
 * "<type>_ok"; echo replies must carry an echo equal to the request's; in broadcast mode a
 * read_ok must list exactly the values broadcast before it (each once), and error replies with
 * code 10 (not-supported) are accepted and counted. Lines to other nodes are counted, not checked.
 *
 * Build: gcc -O2 -o pipebench pipebench.c -ljansson
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "spawn_node.h"

typedef struct {
    char *data;
    size_t len, cap;
} buffer;

static void reserve(buffer *b, size_t extra) {
    if (b->len + extra <= b->cap) return;
    size_t cap = b->cap ? b->cap : 1 << 20;
    while (cap < b->len + extra) cap *= 2;
    b->data = realloc(b->data, cap);
    if (!b->data) { perror("realloc"); exit(2); }
    b->cap = cap;
}

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static long rss_kib(pid_t pid) {
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
    FILE *f = fopen(path, "r");
    if (!f) return -1;
    long kib = -1;
    while (fgets(line, sizeof line, f))
        if (strncmp(line, "VmRSS:", 6) == 0) { kib = strtol(line + 6, NULL, 10); break; }
    fclose(f);
    return kib;
}

static buffer read_file(const char *path) {
    buffer b = {0};
    int fd = open(path, O_RDONLY);
    if (fd < 0) { perror(path); exit(2); }
    struct stat st;
    fstat(fd, &st);
    reserve(&b, (size_t)st.st_size + 1);
    ssize_t n;
    while ((n = read(fd, b.data + b.len, b.cap - b.len)) > 0) b.len += (size_t)n;
    close(fd);
    return b;
}

/* ---- verification ---- */

static char verdict[256] = "ok";
static long error_replies, other_lines;

static int fail(const char *fmt, ...) {
    if (strcmp(verdict, "ok") == 0) {
        int n = snprintf(verdict, sizeof verdict, "FAIL:");
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(verdict + n, sizeof verdict - (size_t)n, fmt, ap);
        va_end(ap);
    }
    return 0;
}

/* Next line of `b` from *pos, NUL-terminated in place (the buffers are ours). */
static char *next_line(buffer *b, size_t *pos, size_t *len) {
    if (*pos >= b->len) return NULL;
    char *start = b->data + *pos;
    char *nl = memchr(start, '\n', b->len - *pos);
    size_t n = nl ? (size_t)(nl - start) : b->len - *pos;
    start[n] = '\0';
    *pos += n + 1;
    *len = n;
    return start;
}

static int verify(buffer *in, buffer *out, int broadcast) {
    size_t ipos = 0, opos = 0, ilen, olen;
    char *iline, *oline;
    long index = 0;
    static unsigned char seen[1000]; /* broadcast values so far (the generator cycles 0..999) */
    long seen_count = 0;
    reserve(out, 1); /* room for the last line's terminator */
    while ((iline = next_line(in, &ipos, &ilen))) {
        index++;
        json_error_t err;
        json_t *req = json_loadb(iline, ilen, 0, &err);
        if (!req) return fail("input line %ld is not JSON", index);
        json_t *rbody = json_object_get(req, "body");
        const char *rtype = json_string_value(json_object_get(rbody, "type"));
        const char *rsrc = json_string_value(json_object_get(req, "src"));
        json_int_t msg_id = json_integer_value(json_object_get(rbody, "msg_id"));
        json_t *reply = NULL;
        for (;;) { /* skip lines addressed to other nodes */
            oline = next_line(out, &opos, &olen);
            if (!oline) { json_decref(req); return fail("no reply to request %ld", index); }
            reply = json_loadb(oline, olen, 0, &err);
            if (!reply) { json_decref(req); return fail("reply line for request %ld is not JSON", index); }
            const char *dest = json_string_value(json_object_get(reply, "dest"));
            if (dest && dest[0] == 'c') break;
            other_lines++;
            json_decref(reply);
        }
        json_t *body = json_object_get(reply, "body");
        const char *type = json_string_value(json_object_get(body, "type"));
        const char *dest = json_string_value(json_object_get(reply, "dest"));
        json_t *irt = json_object_get(body, "in_reply_to");
        int ok = type && dest && rsrc && rtype && strcmp(dest, rsrc) == 0 && json_is_integer(irt) &&
                 json_integer_value(irt) == msg_id && strcmp(json_string_value(json_object_get(reply, "src")), "n0") == 0;
        if (!ok) { fail("reply %ld does not answer its request (msg_id %ld)", index, (long)msg_id); goto done; }
        if (broadcast && strcmp(type, "error") == 0 && json_integer_value(json_object_get(body, "code")) == 10) {
            error_replies++;
        } else if (strncmp(type, rtype, strlen(rtype)) != 0 || strcmp(type + strlen(rtype), "_ok") != 0) {
            fail("reply %ld has the wrong type %s", index, type); goto done;
        } else if (strcmp(rtype, "echo") == 0) {
            if (!json_equal(json_object_get(body, "echo"), json_object_get(rbody, "echo"))) {
                fail("reply %ld echoes a different value", index); goto done;
            }
        } else if (strcmp(rtype, "read") == 0) {
            json_t *messages = json_object_get(body, "messages");
            if (!json_is_array(messages) || (long)json_array_size(messages) != seen_count) {
                fail("read_ok %ld lists %ld values", index, json_is_array(messages) ? (long)json_array_size(messages) : -1);
                goto done;
            }
            static unsigned char listed[1000];
            memset(listed, 0, sizeof listed);
            for (size_t i = 0; i < json_array_size(messages); i++) {
                json_int_t v = json_integer_value(json_array_get(messages, i));
                if (v < 0 || v >= 1000 || !seen[v] || listed[v]) { fail("read_ok %ld lists a wrong or repeated value %ld", index, (long)v); goto done; }
                listed[v] = 1;
            }
        }
        if (strcmp(rtype, "broadcast") == 0) {
            json_int_t v = json_integer_value(json_object_get(rbody, "message"));
            if (v >= 0 && v < 1000 && !seen[v]) { seen[v] = 1; seen_count++; }
        }
    done:
        json_decref(reply);
        json_decref(req);
        if (strcmp(verdict, "ok") != 0) return 0;
    }
    while ((oline = next_line(out, &opos, &olen))) {
        json_t *extra = json_loadb(oline, olen, 0, NULL);
        const char *dest = extra ? json_string_value(json_object_get(extra, "dest")) : NULL;
        int to_client = dest && dest[0] == 'c';
        json_decref(extra);
        if (to_client) return fail("a client reply after the last of %ld requests", index);
        other_lines++;
    }
    return 1;
}

int main(int argc, char **argv) {
    if (argc < 5 || strcmp(argv[3], "--") != 0) {
        fprintf(stderr, "usage: pipebench echo|broadcast INPUT -- COMMAND [ARGS...]\n");
        return 2;
    }
    int broadcast = strcmp(argv[1], "broadcast") == 0;
    /* Fork before loading the input: a child forked from a big parent would report the parent's
     * pages in its peak RSS (ru_maxrss counts the time before exec too). */
    int wfd, rfd;
    pid_t pid = spawn_node(argv + 4, &wfd, &rfd);
    if (pid < 0) return 2;
    buffer in = read_file(argv[2]);
    long requests = 0;
    for (size_t i = 0; i < in.len; i++) requests += in.data[i] == '\n';
    double t0 = now_s(); /* the node has started and waits for input: start-up is not timed */
    fcntl(wfd, F_SETFL, O_NONBLOCK);
    fcntl(rfd, F_SETFL, O_NONBLOCK);

    buffer out = {0};
    size_t written = 0;
    long samples[10];
    int next_sample = 0;
    for (;;) {
        struct pollfd fds[2] = {{rfd, POLLIN, 0}, {wfd, POLLOUT, 0}};
        int nfds = wfd >= 0 ? 2 : 1;
        if (poll(fds, (nfds_t)nfds, -1) < 0) { if (errno == EINTR) continue; perror("poll"); return 2; }
        if (wfd >= 0 && (fds[1].revents & (POLLOUT | POLLERR | POLLHUP))) {
            ssize_t n = write(wfd, in.data + written, in.len - written);
            if (n > 0) written += (size_t)n;
            else if (n < 0 && errno != EAGAIN) written = in.len; /* node gone: stop feeding */
            while (next_sample < 10 && written * 10 >= in.len * (size_t)(next_sample + 1))
                samples[next_sample++] = rss_kib(pid);
            if (written == in.len) { close(wfd); wfd = -1; }
        }
        if (fds[0].revents & (POLLIN | POLLHUP | POLLERR)) {
            reserve(&out, 1 << 16);
            ssize_t n = read(rfd, out.data + out.len, out.cap - out.len);
            if (n > 0) out.len += (size_t)n;
            else if (n == 0) break;
            else if (errno != EAGAIN && errno != EINTR) break;
        }
    }
    double elapsed = now_s() - t0;
    int status;
    struct rusage ru;
    wait4(pid, &status, 0, &ru);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) snprintf(verdict, sizeof verdict, "FAIL:exit status %d", status);
    else verify(&in, &out, broadcast);

    double cpu = (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
                 (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
    printf("%ld\t%.4f\t%.0f\t%.4f\t%ld\t", requests, elapsed, (double)requests / elapsed, cpu, ru.ru_maxrss);
    for (int i = 0; i < next_sample; i++) printf("%s%ld", i ? "," : "", samples[i]);
    printf("\t%s", verdict);
    if (error_replies) printf(" (%ld not-supported errors)", error_replies);
    if (other_lines) printf(" (%ld lines to other nodes)", other_lines);
    printf("\n");
    return strcmp(verdict, "ok") == 0 ? 0 : 1;
}
