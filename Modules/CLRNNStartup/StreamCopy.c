// Non-temporal copies for large write-once buffers (see CLRNNStartup.h).
#include "CLRNNStartup.h"

#include <stdint.h>
#include <string.h>

#if defined(__x86_64__) && defined(__SSE2__)
#include <emmintrin.h>

void lrnn_stream_copy_rows_f32(float *dst, long ldd, const float *src, long lds, long rows, long count) {
    for (long r = 0; r < rows; r++) {
        float *d = dst + r * ldd;
        const float *s = src + r * lds;
        long i = 0;
        while (i < count && ((uintptr_t)(d + i) & 15) != 0) {
            d[i] = s[i];
            i++;
        }
        for (; i + 16 <= count; i += 16) {
            __m128 a = _mm_loadu_ps(s + i), b = _mm_loadu_ps(s + i + 4);
            __m128 c = _mm_loadu_ps(s + i + 8), e = _mm_loadu_ps(s + i + 12);
            _mm_stream_ps(d + i, a);
            _mm_stream_ps(d + i + 4, b);
            _mm_stream_ps(d + i + 8, c);
            _mm_stream_ps(d + i + 12, e);
        }
        for (; i < count; i++) d[i] = s[i];
    }
    _mm_sfence();
}

void lrnn_stream_copy_rows_f64(double *dst, long ldd, const double *src, long lds, long rows, long count) {
    for (long r = 0; r < rows; r++) {
        double *d = dst + r * ldd;
        const double *s = src + r * lds;
        long i = 0;
        while (i < count && ((uintptr_t)(d + i) & 15) != 0) {
            d[i] = s[i];
            i++;
        }
        for (; i + 8 <= count; i += 8) {
            __m128d a = _mm_loadu_pd(s + i), b = _mm_loadu_pd(s + i + 2);
            __m128d c = _mm_loadu_pd(s + i + 4), e = _mm_loadu_pd(s + i + 6);
            _mm_stream_pd(d + i, a);
            _mm_stream_pd(d + i + 2, b);
            _mm_stream_pd(d + i + 4, c);
            _mm_stream_pd(d + i + 6, e);
        }
        for (; i < count; i++) d[i] = s[i];
    }
    _mm_sfence();
}

#else

void lrnn_stream_copy_rows_f32(float *dst, long ldd, const float *src, long lds, long rows, long count) {
    for (long r = 0; r < rows; r++) if (count > 0) memcpy(dst + r * ldd, src + r * lds, (size_t)count * sizeof(float));
}

void lrnn_stream_copy_rows_f64(double *dst, long ldd, const double *src, long lds, long rows, long count) {
    for (long r = 0; r < rows; r++) if (count > 0) memcpy(dst + r * ldd, src + r * lds, (size_t)count * sizeof(double));
}

#endif

void lrnn_stream_copy_f32(float *dst, const float *src, long count) {
    lrnn_stream_copy_rows_f32(dst, 0, src, 0, 1, count);
}

void lrnn_stream_copy_f64(double *dst, const double *src, long count) {
    lrnn_stream_copy_rows_f64(dst, 0, src, 0, 1, count);
}
