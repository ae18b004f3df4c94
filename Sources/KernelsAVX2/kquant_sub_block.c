// Our k-quant search's sub-block step (KQuantSearch.subBlockStep, see there) and the error it minimises: with d and
// dmin fixed, the integer scale and min around a sub-block's least-squares fit with the lowest weighted error. Eight
// weights per lane as the Swift SIMD8 loops take them, the same operations in the same order, Swift.min/max's choice
// on ties and NaN, so the codes, scale, min and error are bit for bit the Swift loops'.
#include "KernelsAVX2.h"

#if defined(__x86_64__)
#include <math.h>
#include "lanes.h"

#pragma clang fp contract(off)

static inline float swift_min(float x, float y) { return y < x ? y : x; }
static inline float swift_max(float x, float y) { return y >= x ? y : x; }

__attribute__((target("avx2,f16c")))
float uqcit_avx2_sub_block_error(const float *x, const float *w, size_t n, float a, float b, float lo, float hi, float *codes) {
    const float ia = a != 0 ? 1 / a : 0;
    const __m256 va = _mm256_set1_ps(a), vb = _mm256_set1_ps(b), via = _mm256_set1_ps(ia);
    const __m256 vlo = _mm256_set1_ps(lo), vhi = _mm256_set1_ps(hi), magic = _mm256_set1_ps(12582912.0f);
    __m256 acc = _mm256_setzero_ps();
    for (size_t i = 0; i < n; i += 8) {
        const __m256 xv = _mm256_loadu_ps(x + i), wv = _mm256_loadu_ps(w + i);
        __m256 t = _mm256_mul_ps(_mm256_add_ps(xv, vb), via);
        t = _mm256_blendv_ps(t, vlo, _mm256_cmp_ps(t, vlo, _CMP_LT_OQ));
        t = _mm256_blendv_ps(t, vhi, _mm256_cmp_ps(t, vhi, _CMP_GT_OQ));
        const __m256 q = _mm256_sub_ps(_mm256_add_ps(t, magic), magic);
        if (codes) _mm256_storeu_ps(codes + i, q);
        const __m256 r = _mm256_sub_ps(_mm256_sub_ps(_mm256_mul_ps(va, q), vb), xv);
        acc = _mm256_add_ps(acc, _mm256_mul_ps(_mm256_mul_ps(wv, r), r));
    }
    return sum_in_order(acc);
}

__attribute__((target("avx2,f16c")))
void uqcit_avx2_sub_block_step(const float *x, const float *w, size_t n, float *codes, float *scale, float *min,
                               float d, float dmin, float lo, float hi, float scale_lo, float scale_hi,
                               float min_lo, float min_hi, int has_mins) {
    if (d == 0) return;
    float best = uqcit_avx2_sub_block_error(x, w, n, d * *scale, dmin * *min, lo, hi, codes);
    for (int round = 0; round < 2; round++) {
        __m256 sw = _mm256_setzero_ps(), sq = sw, sqq = sw, sx = sw, sqx = sw;
        for (size_t i = 0; i < n; i += 8) {
            const __m256 xv = _mm256_loadu_ps(x + i), wv = _mm256_loadu_ps(w + i), qv = _mm256_loadu_ps(codes + i);
            const __m256 wq = _mm256_mul_ps(wv, qv);
            sw = _mm256_add_ps(sw, wv);
            sq = _mm256_add_ps(sq, wq);
            sqq = _mm256_add_ps(sqq, _mm256_mul_ps(wq, qv));
            sx = _mm256_add_ps(sx, _mm256_mul_ps(wv, xv));
            sqx = _mm256_add_ps(sqx, _mm256_mul_ps(wq, xv));
        }
        const float sum_w = sum_in_order(sw), sum_q = sum_in_order(sq), sum_qq = sum_in_order(sqq);
        const float sum_x = sum_in_order(sx), sum_qx = sum_in_order(sqx);
        const int fits_min = has_mins && dmin != 0;
        float sigma, mu = 0;
        const float det = sum_q * sum_q - sum_qq * sum_w;
        if (fits_min && det != 0) {
            sigma = (sum_q * sum_x - sum_w * sum_qx) / det;
            mu = (sum_qq * sum_x - sum_q * sum_qx) / det;
            if (mu < 0) { mu = 0; sigma = sum_qq > 0 ? sum_qx / sum_qq : 0; }
        } else {
            if (!(sum_qq > 0)) return;
            mu = dmin * *min;
            sigma = (sum_qx + mu * sum_q) / sum_qq;
        }
        const float s0 = floorf(sigma / d);
        const float m0 = fits_min ? floorf(mu / dmin) : *min;
        float best_scale = *scale, best_min = *min;
        for (int ds = -1; ds <= 2; ds++) {
            const float s = swift_min(swift_max(s0 + (float)ds, scale_lo), scale_hi);
            for (int dm = 0; dm <= (fits_min ? 1 : 0); dm++) {
                const float m = swift_min(swift_max(m0 + (float)dm, min_lo), min_hi);
                if (s == best_scale && m == best_min) continue;
                const float e = uqcit_avx2_sub_block_error(x, w, n, d * s, dmin * m, lo, hi, NULL);
                if (e < best) { best = e; best_scale = s; best_min = m; }
            }
        }
        if (best_scale == *scale && best_min == *min) return;
        *scale = best_scale;
        *min = best_min;
        uqcit_avx2_sub_block_error(x, w, n, d * *scale, dmin * *min, lo, hi, codes);
    }
}
#else
float uqcit_avx2_sub_block_error(const float *x, const float *w, size_t n, float a, float b, float lo, float hi, float *codes) {
    (void)x; (void)w; (void)n; (void)a; (void)b; (void)lo; (void)hi; (void)codes;
    return 0;
}
void uqcit_avx2_sub_block_step(const float *x, const float *w, size_t n, float *codes, float *scale, float *min,
                               float d, float dmin, float lo, float hi, float scale_lo, float scale_hi,
                               float min_lo, float min_hi, int has_mins) {
    (void)x; (void)w; (void)n; (void)codes; (void)scale; (void)min; (void)d; (void)dmin; (void)lo; (void)hi;
    (void)scale_lo; (void)scale_hi; (void)min_lo; (void)min_hi; (void)has_mins;
}
#endif
