/* The fuzz targets' own invariants: a failed check aborts, which libFuzzer reports as a crash
 * with the input that caused it. */
#ifndef PN_FUZZ_CHECK_H
#define PN_FUZZ_CHECK_H

#include <stdio.h>
#include <stdlib.h>

#define CHECK(c)                                                                                    \
    do {                                                                                            \
        if (!(c)) {                                                                                 \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #c);                  \
            abort();                                                                                \
        }                                                                                           \
    } while (0)

#endif
