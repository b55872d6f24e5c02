#ifndef EVNODE_CLIBEV_SHIM_H
#define EVNODE_CLIBEV_SHIM_H
#include <ev.h>

// libev's watcher set-up and the default loop are function-like macros, which Swift cannot import.
// Each wrapper below is exactly one macro; everything else in ev.h is used directly from Swift.

static inline struct ev_loop *evshim_default_loop(void) { return ev_default_loop(EVFLAG_AUTO); }

static inline void evshim_io_init(ev_io *w, void (*cb)(struct ev_loop *, ev_io *, int), int fd, int events) {
    ev_io_init(w, cb, fd, events);
}

static inline void evshim_timer_init(ev_timer *w, void (*cb)(struct ev_loop *, ev_timer *, int),
                                     ev_tstamp after, ev_tstamp repeat) {
    ev_timer_init(w, cb, after, repeat);
}

static inline void evshim_timer_set(ev_timer *w, ev_tstamp after, ev_tstamp repeat) {
    ev_timer_set(w, after, repeat);
}

static inline void evshim_prepare_init(ev_prepare *w, void (*cb)(struct ev_loop *, ev_prepare *, int)) {
    ev_prepare_init(w, cb);
}

static inline int evshim_is_active(void *w) { return ev_is_active((ev_watcher *)w); }

#endif
