/*
 * Arithmetic that must give the same bits natively and in WebAssembly. The C library's exp()
 * differs between glibc and the musl that Emscripten ships in the last place, so scoring uses
 * this one, built only from IEEE-754 operations that every target rounds alike.
 */
#ifndef PN_NUMERIC_H
#define PN_NUMERIC_H

/* e^x for x <= 0 (softmax after subtracting the maximum); 0 for x < -700. Max error ~1 ulp. */
double pn__exp_nonpos(double x);

#endif
