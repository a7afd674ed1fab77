/* Internal helpers for filling a caller's pn_error. Not part of the public API. */
#ifndef PN_ERROR_INTERNAL_H
#define PN_ERROR_INTERNAL_H

#include "personae/status.h"

#if defined(__GNUC__) || defined(__clang__)
#define PN__PRINTF(f, a) __attribute__((format(printf, f, a)))
#else
#define PN__PRINTF(f, a)
#endif

/* Fills `err` (if not NULL) with `code` and a formatted sentence; returns `code`. */
pn_status pn__fail(pn_error *err, pn_status code, const char *fmt, ...) PN__PRINTF(3, 4);

/* Shorthand for PN_ENOMEM with the message "out of memory". */
pn_status pn__oom(pn_error *err);

#endif
