#ifndef EVNODE_CJANSSON_SHIM_H
#define EVNODE_CJANSSON_SHIM_H
#include <jansson.h>

// Nothing to wrap: jansson's json_typeof/json_is_* macros are replaced in Swift by reading json_t's
// `type` field, its flag macros are plain integers, and json_incref/json_decref are static inline
// functions that Swift imports as they are.

#endif
