/*
 * personae — status codes and the error record.
 *
 * Rules for every personae function that can fail:
 *   - it returns a pn_status; PN_OK (0) is success;
 *   - it takes a caller-provided `pn_error *err` (which may be NULL) and, on failure, fills it
 *     with the same code and one human sentence that names the offending input;
 *   - on failure, every out-parameter is left NULL/zero and nothing was allocated.
 * The core keeps no global state: errors live in the caller's pn_error, never in a global.
 */
#ifndef PERSONAE_STATUS_H
#define PERSONAE_STATUS_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Section - Status codes (one X-macro table: name, value, generic description) */
#define PN_STATUS_TABLE(X)                                                        \
    X(PN_OK, 0, "success")                                                        \
    X(PN_ENOMEM, 1, "out of memory")                                              \
    X(PN_EINVAL, 2, "invalid argument")                                           \
    X(PN_EPARSE, 3, "malformed input")                                            \
    X(PN_ERULE, 4, "the model breaks a rule")                                     \
    X(PN_EUNKNOWN, 5, "unknown id")                                               \
    X(PN_ETRUNCATED, 6, "snapshot is truncated")                                  \
    X(PN_ECORRUPT, 7, "snapshot is corrupted")                                    \
    X(PN_EFOREIGN, 8, "not a personae snapshot")                                  \
    X(PN_EVERSION, 9, "unsupported snapshot format version")                      \
    X(PN_ETRAIN, 10, "training cannot run")                                       \
    X(PN_ELIMIT, 11, "a size limit was exceeded")

typedef enum pn_status {
#define PN_STATUS_ENUM_(name, value, text) name = value,
    PN_STATUS_TABLE(PN_STATUS_ENUM_)
#undef PN_STATUS_ENUM_
} pn_status;

/* Section - Error record (caller-provided, never shared between threads) */
#define PN_ERROR_MESSAGE_MAX 256

typedef struct pn_error {
    pn_status code;
    char message[PN_ERROR_MESSAGE_MAX]; /* NUL-terminated sentence; "" when code is PN_OK */
} pn_error;

/* Returns a static, generic description of `code` ("unknown status" for values outside the
 * table). Thread-safe; never NULL. */
const char *pn_strerror(pn_status code);

/* Returns the symbolic name of `code` ("PN_EPARSE"), or "PN_UNKNOWN". Thread-safe; never NULL. */
const char *pn_status_name(pn_status code);

/* Resets `err` to PN_OK with an empty message. Does nothing for NULL. */
void pn_error_clear(pn_error *err);

#ifdef __cplusplus
}
#endif
#endif
