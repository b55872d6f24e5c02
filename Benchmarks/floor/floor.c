/* The floor: a bare C Maelstrom node that answers `init` and `echo` on the same libraries as
 * evnode (libev for non-blocking stdin, jansson for JSON) with no Swift at all. Whatever evnode
 * spends above this per message is the cost of its Swift layer.
 *
 * Same I/O shape as evnode's EventLoop: read stdin until EAGAIN, split lines with memchr (a line
 * cut across reads is buffered), answer each line, queue replies in one output buffer, flush when
 * it passes 64 KiB and from an ev_prepare watcher just before the loop would block (so a busy node
 * writes once per batch and an idle one never holds a reply back). Each reply is built as a
 * jansson tree and dumped into the output buffer with json_dumpb, the usual way to use jansson.
 * Writes to stdout block; the floor has no back-pressure logic.
 *
 * Build: gcc -O2 -o floor floor.c -lev -ljansson
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <ev.h>
#include <jansson.h>

#define READ_CHUNK (1 << 16)
#define FLUSH_THRESHOLD (1 << 16)

typedef struct {
    char *data;
    size_t len, cap;
} buffer;

static buffer out, partial;
static char read_buf[READ_CHUNK];
static json_t *node_id; /* string, set by init */
static ev_io stdin_watcher;
static ev_prepare prepare_watcher;

static void reserve(buffer *b, size_t extra) {
    if (b->len + extra <= b->cap) return;
    size_t cap = b->cap ? b->cap : 4096;
    while (cap < b->len + extra) cap *= 2;
    b->data = realloc(b->data, cap);
    if (!b->data) abort();
    b->cap = cap;
}

static void append(buffer *b, const char *p, size_t n) {
    reserve(b, n);
    memcpy(b->data + b->len, p, n);
    b->len += n;
}

static void flush(void) {
    size_t done = 0;
    while (done < out.len) {
        ssize_t n = write(1, out.data + done, out.len - done);
        if (n > 0) { done += (size_t)n; continue; }
        if (n < 0 && errno == EINTR) continue;
        break; /* stdout gone: drop output */
    }
    out.len = 0;
}

/* Serializes `msg` compactly plus a newline straight into the output buffer. */
static void emit(json_t *msg) {
    size_t need = json_dumpb(msg, out.data + out.len, out.cap - out.len, JSON_COMPACT);
    if (need > out.cap - out.len) {
        reserve(&out, need + 1);
        need = json_dumpb(msg, out.data + out.len, out.cap - out.len, JSON_COMPACT);
    }
    out.len += need;
    append(&out, "\n", 1);
    if (out.len >= FLUSH_THRESHOLD) flush();
}

static void handle_line(const char *line, size_t n) {
    json_error_t err;
    json_t *root = json_loadb(line, n, 0, &err);
    if (!root) return;
    json_t *src = json_object_get(root, "src");
    json_t *body = json_object_get(root, "body");
    const char *type = json_string_value(json_object_get(body, "type"));
    json_t *msg_id = json_object_get(body, "msg_id");
    if (!json_is_string(src) || !type || !json_is_integer(msg_id)) { json_decref(root); return; }

    json_t *reply = json_object();
    json_object_set(reply, "in_reply_to", msg_id);
    if (strcmp(type, "echo") == 0) {
        json_object_set_new(reply, "type", json_string("echo_ok"));
        json_t *echo = json_object_get(body, "echo");
        json_object_set(reply, "echo", echo ? echo : json_null());
    } else if (strcmp(type, "init") == 0) {
        json_t *id = json_object_get(body, "node_id");
        if (json_is_string(id)) {
            json_decref(node_id);
            node_id = json_incref(id);
        }
        json_object_set_new(reply, "type", json_string("init_ok"));
    } else {
        json_object_set_new(reply, "type", json_string("error"));
        json_object_set_new(reply, "code", json_integer(10));
        json_object_set_new(reply, "text", json_string("not supported"));
    }
    json_t *envelope = json_object();
    json_object_set_new(envelope, "src", node_id ? json_incref(node_id) : json_string(""));
    json_object_set(envelope, "dest", src);
    json_object_set_new(envelope, "body", reply);
    emit(envelope);
    json_decref(envelope);
    json_decref(root);
}

static void feed(const char *chunk, size_t n) {
    const char *p = chunk, *end = chunk + n;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        if (!nl) { append(&partial, p, (size_t)(end - p)); return; }
        if (partial.len) {
            append(&partial, p, (size_t)(nl - p));
            handle_line(partial.data, partial.len);
            partial.len = 0;
        } else if (nl > p) {
            handle_line(p, (size_t)(nl - p));
        }
        p = nl + 1;
    }
}

static void on_stdin(struct ev_loop *loop, ev_io *w, int revents) {
    (void)revents;
    for (;;) {
        ssize_t n = read(0, read_buf, sizeof read_buf);
        if (n > 0) { feed(read_buf, (size_t)n); continue; }
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
        /* end of input (or a read error): answer an unterminated last line, then stop */
        if (partial.len) { handle_line(partial.data, partial.len); partial.len = 0; }
        ev_io_stop(loop, w);
        ev_prepare_stop(loop, &prepare_watcher);
        ev_break(loop, EVBREAK_ALL);
        return;
    }
}

static void before_blocking(struct ev_loop *loop, ev_prepare *w, int revents) {
    (void)loop; (void)w; (void)revents;
    flush();
}

int main(void) {
    struct ev_loop *loop = ev_default_loop(EVFLAG_AUTO);
    fcntl(0, F_SETFL, fcntl(0, F_GETFL) | O_NONBLOCK);
    reserve(&out, 1 << 17);
    ev_io_init(&stdin_watcher, on_stdin, 0, EV_READ);
    ev_io_start(loop, &stdin_watcher);
    ev_prepare_init(&prepare_watcher, before_blocking);
    ev_prepare_start(loop, &prepare_watcher);
    ev_run(loop, 0);
    flush();
    json_decref(node_id);
    free(out.data);
    free(partial.data);
    return 0;
}
