// OpenBLAS 0.3.21 (Debian bookworm) picks its kernels at load time from the CPU model
// number. On CPUs newer than the release (e.g. Intel family 6 model 207) it finds no match
// and falls back to the generic "Prescott" kernels: SSE3 only, about 4.5× slower sgemm on
// an AVX-512 machine. This constructor runs once, after OpenBLAS has initialised and before
// any Swift code (so before any BLAS call or thread exists), and, when OpenBLAS fell back
// to Prescott and the user did not choose a core with OPENBLAS_CORETYPE, re-runs OpenBLAS's
// own core selection forced to the best kernel family the CPU's feature flags support.
// Nothing changes on a CPU that OpenBLAS recognises.
#include <stdlib.h>
#include <string.h>

#include "CLRNNStartup.h"

// OpenBLAS's functions, declared weak so that a build without DYNAMIC_ARCH (which lacks
// the gotoblas_dynamic_* entry points) still links and simply keeps its kernels.
extern char *openblas_get_corename(void) __attribute__((weak));
extern void gotoblas_dynamic_init(void) __attribute__((weak));
extern void gotoblas_dynamic_quit(void) __attribute__((weak));

static const char *replaced = NULL;
static char replacedName[32];

const char *lrnn_replaced_blas_core(void) { return replaced; }

#if defined(__x86_64__)
static const char *best_core(void) {
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
        __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl") &&
        __builtin_cpu_supports("avx512cd"))
        return "SkylakeX";
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return "Haswell";
    if (__builtin_cpu_supports("avx")) return "Sandybridge";
    return NULL;
}
#else
static const char *best_core(void) { return NULL; }
#endif

__attribute__((constructor)) static void lrnn_select_blas_core(void) {
    if (!openblas_get_corename || !gotoblas_dynamic_init || !gotoblas_dynamic_quit) return;
    if (getenv("OPENBLAS_CORETYPE") != NULL || getenv("LRNN_KEEP_BLAS_CORE") != NULL) return;
    const char *current = openblas_get_corename();
    if (current == NULL || strcmp(current, "Prescott") != 0) return;
    const char *core = best_core();
    if (core == NULL) return;
    strncpy(replacedName, current, sizeof replacedName - 1);
    if (setenv("OPENBLAS_CORETYPE", core, 0) != 0) return;
    gotoblas_dynamic_quit();
    gotoblas_dynamic_init();
    unsetenv("OPENBLAS_CORETYPE");
    replaced = replacedName;
}
