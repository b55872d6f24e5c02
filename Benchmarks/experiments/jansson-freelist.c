/* Experiment, not part of evnode: what jansson's use of malloc costs per message.
 *
 * A size-class free-list allocator for jansson, installed from a constructor when preloaded:
 *   gcc -O2 -shared -fPIC -o jansson-freelist.so jansson-freelist.c -ljansson
 *   LD_PRELOAD=./jansson-freelist.so valgrind --tool=callgrind … evnode < echo.jsonl
 * Blocks up to 256 bytes (jansson's values, keys, hashtable pairs) are kept on one list per
 * 16-byte class and reused; larger ones go to malloc. A 16-byte header records the class.
 * Single-threaded and never returns memory: fine for an experiment, and the reasons it is not in
 * evnode are in docs/perf.md ("What is left").
 */
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>

#define CLASSES 16

typedef struct block { struct block *next; } block;
static block *free_lists[CLASSES];

static void *freelist_malloc(size_t size) {
    size_t class = size ? (size + 15) / 16 : 1; /* 1..: 16-byte units */
    uint64_t *p;
    if (class > CLASSES) {
        if (!(p = malloc(size + 16))) return NULL;
        p[0] = 0;
        return p + 2;
    }
    if (free_lists[class - 1]) {
        p = (uint64_t *)free_lists[class - 1];
        free_lists[class - 1] = free_lists[class - 1]->next;
    } else if (!(p = malloc(class * 16 + 16))) {
        return NULL;
    }
    p[0] = class;
    return p + 2;
}

static void freelist_free(void *ptr) {
    if (!ptr) return;
    uint64_t *p = (uint64_t *)ptr - 2;
    size_t class = p[0];
    if (class == 0) { free(p); return; }
    block *b = (block *)p;
    b->next = free_lists[class - 1];
    free_lists[class - 1] = b;
}

__attribute__((constructor)) static void install(void) {
    json_set_alloc_funcs(freelist_malloc, freelist_free);
}
