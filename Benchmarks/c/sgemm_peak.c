/* Single-thread sgemm peak of OpenBLAS, for comparison with `lrnn info`.
 * Build: cc -O2 -o sgemm_peak sgemm_peak.c $(pkg-config --cflags --libs openblas)
 * Usage: sgemm_peak [n]   (default n = 2048; C = A·B, best of 3 timed calls after one warm-up)
 * OpenBLAS picks its kernels itself; set OPENBLAS_CORETYPE (e.g. SkylakeX) to force them. */
#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

/* Declared by OpenBLAS; repeated here in case cblas.h is not OpenBLAS's own. */
void openblas_set_num_threads(int num_threads);
char *openblas_get_corename(void);

static double seconds(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

int main(int argc, char **argv) {
    const int n = argc > 1 ? atoi(argv[1]) : 2048;
    if (n < 1) {
        fprintf(stderr, "n must be positive\n");
        return 2;
    }
    const size_t count = (size_t)n * (size_t)n;
    float *a = malloc(count * sizeof *a), *b = malloc(count * sizeof *b), *c = malloc(count * sizeof *c);
    if (!a || !b || !c) {
        fprintf(stderr, "out of memory\n");
        return 1;
    }
    /* The same deterministic fill as lrnn info. */
    for (size_t i = 0; i < count; i++) {
        a[i] = (float)((double)((i * 7919) % 1000) / 1000 - 0.5);
        b[i] = (float)((double)((i * 104729) % 1000) / 1000 - 0.5);
        c[i] = 0;
    }
    openblas_set_num_threads(1);
    double best = 1e300;
    for (int r = 0; r <= 3; r++) { /* r = 0 is the warm-up */
        double t0 = seconds();
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1.0f, a, n, b, n, 0.0f, c, n);
        double dt = seconds() - t0;
        if (r > 0 && dt < best) best = dt;
    }
    printf("OpenBLAS core %s: sgemm n=%d threads=1: %.1f GFLOP/s (best of 3, %.3f s)\n", openblas_get_corename(), n,
           2.0 * n * n * (double)n / best / 1e9, best);
    free(a);
    free(b);
    free(c);
    return 0;
}
