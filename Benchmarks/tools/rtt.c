/* rtt: closed-loop round trips, one request in flight. Starts the node on two pipes, sends init,
 * then echo requests one at a time, each written only after the previous reply's newline arrived.
 *
 *   rtt COUNT WARMUP -- COMMAND [ARGS...]
 *
 * Prints one tab-separated line: count  p50_us  p99_us  mean_us  max_us  verified(ok|FAIL:reason)
 * Each reply is checked after its timing is taken (in_reply_to and echo value).
 * Run it under `taskset -c 0` to put the driver and the node on one CPU (the child inherits it).
 *
 * Build: gcc -O2 -o rtt rtt.c -ljansson
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "spawn_node.h"

static char pending[1 << 16];
static size_t pending_len;

static double now_us(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

static void write_all(int fd, const char *p, size_t n) {
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w <= 0) { perror("write to node"); exit(2); }
        p += w;
        n -= (size_t)w;
    }
}

/* Reads until one full line is buffered; returns its length (line copied into `line`). */
static size_t read_line(int fd, char *line, size_t cap) {
    for (;;) {
        char *nl = memchr(pending, '\n', pending_len);
        if (nl) {
            size_t n = (size_t)(nl - pending);
            if (n >= cap) { fprintf(stderr, "reply too long\n"); exit(2); }
            memcpy(line, pending, n);
            line[n] = '\0';
            memmove(pending, nl + 1, pending_len - n - 1);
            pending_len -= n + 1;
            return n;
        }
        ssize_t r = read(fd, pending + pending_len, sizeof pending - pending_len);
        if (r <= 0) { fprintf(stderr, "node closed its output\n"); exit(2); }
        pending_len += (size_t)r;
    }
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

int main(int argc, char **argv) {
    if (argc < 5 || strcmp(argv[3], "--") != 0) {
        fprintf(stderr, "usage: rtt COUNT WARMUP -- COMMAND [ARGS...]\n");
        return 2;
    }
    long count = atol(argv[1]), warmup = atol(argv[2]);
    int wfd, rfd;
    pid_t pid = spawn_node(argv + 4, &wfd, &rfd);
    if (pid < 0) return 2;

    char req[256], line[4096];
    const char *init = "{\"id\":0,\"src\":\"c0\",\"dest\":\"n0\",\"body\":{\"type\":\"init\",\"msg_id\":1,"
                       "\"node_id\":\"n0\",\"node_ids\":[\"n0\"]}}\n";
    write_all(wfd, init, strlen(init));
    read_line(rfd, line, sizeof line);

    double *samples = malloc(sizeof(double) * (size_t)count);
    char verdict[128] = "ok";
    for (long k = 1; k <= warmup + count; k++) {
        int n = snprintf(req, sizeof req, "{\"id\":%ld,\"src\":\"c1\",\"dest\":\"n0\",\"body\":{\"type\":\"echo\","
                         "\"msg_id\":%ld,\"echo\":\"Please echo 35\"}}\n", k, k);
        double t0 = now_us();
        write_all(wfd, req, (size_t)n);
        size_t len = read_line(rfd, line, sizeof line);
        double t1 = now_us();
        if (k > warmup) samples[k - warmup - 1] = t1 - t0;
        json_t *reply = json_loadb(line, len, 0, NULL);
        json_t *body = json_object_get(reply, "body");
        if (json_integer_value(json_object_get(body, "in_reply_to")) != k ||
            strcmp(json_string_value(json_object_get(body, "echo")) ?: "", "Please echo 35") != 0) {
            if (strcmp(verdict, "ok") == 0) snprintf(verdict, sizeof verdict, "FAIL:reply %ld", k);
        }
        json_decref(reply);
    }
    close(wfd);
    waitpid(pid, NULL, 0);

    qsort(samples, (size_t)count, sizeof(double), cmp_double);
    double sum = 0;
    for (long i = 0; i < count; i++) sum += samples[i];
    printf("%ld\t%.1f\t%.1f\t%.1f\t%.1f\t%s\n", count, samples[count / 2], samples[(long)(count * 0.99)],
           sum / (double)count, samples[count - 1], verdict);
    return strcmp(verdict, "ok") == 0 ? 0 : 1;
}
