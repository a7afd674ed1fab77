/*
 * A small seeded pseudo-random generator for synthetic data: splitmix64 expands a 64-bit seed
 * into the state of xoshiro256** (Blackman and Vigna, public domain algorithms).
 *
 * Everything here is integer arithmetic on uint64_t, so a given (seed, stream) yields the same
 * sequence on every platform and compiler. Not for cryptography. A pn_prng is a plain value
 * owned by the caller; nothing here allocates or keeps global state, so separate generators may
 * be used from separate threads.
 */
#ifndef PN_NATIVE_PRNG_H
#define PN_NATIVE_PRNG_H

#include <stdint.h>

typedef struct pn_prng {
    uint64_t s[4];
} pn_prng;

/* Advances a splitmix64 state and returns its next output; also a good 64-bit mixer. */
static inline uint64_t pn_splitmix64(uint64_t *state)
{
    uint64_t z = (*state += UINT64_C(0x9E3779B97F4A7C15));
    z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
    return z ^ (z >> 31);
}

/* A bijection on 64-bit integers (the splitmix64 finalizer): distinct inputs, distinct outputs. */
static inline uint64_t pn_mix64(uint64_t z)
{
    z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
    return z ^ (z >> 31);
}

/* Seeds generator number `stream` of `seed`. Streams let every visitor of a synthetic audience
 * have its own sequence, so changing how much one visitor draws never shifts the others. */
static inline void pn_prng_seed(pn_prng *r, uint64_t seed, uint64_t stream)
{
    uint64_t sm = pn_mix64(seed) ^ pn_mix64(stream ^ UINT64_C(0xD1B54A32D192ED03));
    for (int i = 0; i < 4; i++)
        r->s[i] = pn_splitmix64(&sm);
    /* xoshiro's only bad state is all zeros; splitmix64 outputs make it practically impossible,
     * but a fixed non-zero word keeps it impossible in principle. */
    if (!(r->s[0] | r->s[1] | r->s[2] | r->s[3]))
        r->s[0] = 1;
}

static inline uint64_t pn_prng_rotl(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

/* xoshiro256**: the next 64 uniformly distributed bits. */
static inline uint64_t pn_prng_next(pn_prng *r)
{
    uint64_t *s = r->s;
    uint64_t result = pn_prng_rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = pn_prng_rotl(s[3], 45);
    return result;
}

/* Maps 32 random bits onto [0, n) by multiply-shift (Lemire). The bias, at most n / 2^32, is far
 * below anything synthetic data can show, and no rejection loop keeps draws per call fixed. */
static inline uint32_t pn_prng_below32(uint32_t bits, uint32_t n)
{
    return (uint32_t)(((uint64_t)bits * n) >> 32);
}

/* A uniform integer in [0, n), n >= 1, from the top 32 bits of one draw. */
static inline uint32_t pn_prng_below(pn_prng *r, uint32_t n)
{
    return pn_prng_below32((uint32_t)(pn_prng_next(r) >> 32), n);
}

/* A uniform double in [0, 1) with 53 random bits; exact, so identical everywhere. */
static inline double pn_prng_unit(pn_prng *r)
{
    return (double)(pn_prng_next(r) >> 11) * 0x1.0p-53;
}

#endif
