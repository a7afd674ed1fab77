/* Included at the end of every fuzz target. Built with -DPN_FUZZ_STANDALONE (any compiler, no
 * libFuzzer) it adds a main() that runs each file named on the command line through
 * LLVMFuzzerTestOneInput: how crashes and corpora are replayed under gcc and the sanitizers. */
#ifndef PN_FUZZ_STANDALONE_MAIN_H
#define PN_FUZZ_STANDALONE_MAIN_H
#ifdef PN_FUZZ_STANDALONE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        FILE *f = fopen(argv[i], "rb");
        if (!f) {
            perror(argv[i]);
            return 1;
        }
        size_t cap = 1 << 16, len = 0, got;
        uint8_t *buf = malloc(cap);
        while (buf && (got = fread(buf + len, 1, cap - len, f)) > 0) {
            len += got;
            if (len == cap) {
                uint8_t *nb = realloc(buf, cap *= 2);
                if (!nb)
                    free(buf);
                buf = nb;
            }
        }
        fclose(f);
        if (!buf)
            return 1;
        LLVMFuzzerTestOneInput(buf, len);
        free(buf);
    }
    printf("%d inputs ran\n", argc - 1);
    return 0;
}
#endif
#endif
