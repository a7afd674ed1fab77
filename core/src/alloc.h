/*
 * Every allocation of the core goes through these four functions, so that tests can fail each
 * allocation in turn (curl's torture mode) and the wasm build can keep its heap in view.
 * A build with PN_ALLOC_HOOKS defined expects the program to provide pn_hook_malloc/_realloc/
 * _free (tests/unit/torture.c does); otherwise they are the C library's. No global state in core.
 */
#ifndef PN_ALLOC_H
#define PN_ALLOC_H

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#ifdef PN_ALLOC_HOOKS
void *pn_hook_malloc(size_t size);
void *pn_hook_realloc(void *ptr, size_t size);
void pn_hook_free(void *ptr);
#define pn__malloc(n) pn_hook_malloc(n)
#define pn__realloc(p, n) pn_hook_realloc((p), (n))
#define pn__free(p) pn_hook_free(p)
#else
#define pn__malloc(n) malloc(n)
#define pn__realloc(p, n) realloc((p), (n))
#define pn__free(p) free(p)
#endif

/* calloc through the hooks, with the overflow check calloc would do. */
static inline void *pn__calloc(size_t count, size_t size)
{
    if (size && count > (size_t)-1 / size)
        return NULL;
    size_t bytes = count * size;
    void *p = pn__malloc(bytes > 0 ? bytes : 1);
    if (p)
        memset(p, 0, bytes);
    return p;
}

/* Grows `*arr` (element size `elem`) so that it holds at least `need` elements; doubles the
 * capacity. Returns 0 on success, -1 on overflow or out of memory (then *arr is unchanged). */
static inline int pn__grow(void **arr, size_t *cap, size_t need, size_t elem)
{
    if (need <= *cap)
        return 0;
    size_t ncap = *cap ? *cap : 16;
    while (ncap < need) {
        if (ncap > ((size_t)-1 / 2) / elem)
            return -1;
        ncap *= 2;
    }
    void *p = pn__realloc(*arr, ncap * elem);
    if (!p)
        return -1;
    *arr = p;
    *cap = ncap;
    return 0;
}

#endif
