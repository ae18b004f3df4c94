// llama.cpp's make_qx_quants (rmse_type 1: k-quant groups without a min, Q3_K and Q6_K) for eight groups at once,
// one group per lane: each lane takes the scalar algorithm's steps in order (the largest magnitude, the first fit,
// then the eighteen trial scales, a better fit replacing the codes and scale), keeping each trial's codes instead of
// recomputing a winner's. Each lane's operations are KQuantReferenceSearch.symmetricScale's, in its order, so the
// codes and scales are bit for bit the Swift function's for each group.
#include "KernelsAVX2.h"

#if defined(__x86_64__)
#include "lanes.h"

#pragma clang fp contract(off)

// nearest_int(iscale·x) lane by lane, clamped to -nmax...nmax - 1.
__attribute__((target("avx2,f16c")))
static inline __m256i nearest_code(__m256 iscale, __m256 x, __m256i lowest, __m256i highest) {
    return _mm256_min_epi32(_mm256_max_epi32(nearest_int(_mm256_mul_ps(iscale, x)), lowest), highest);
}

// One fit for the eight groups at inverse scales `iscale`: each weight's code, stored to `codes`, and the sums
// Σw·x·l and Σw·l² in the order of symmetricScale's loops.
__attribute__((target("avx2,f16c")))
static inline void fit(size_t n, __m256 iscale, const float *xt, const float *wt, __m256i lowest, __m256i highest,
                       int32_t *codes, __m256 *sum_lx, __m256 *sum_l2) {
    __m256 lx = _mm256_setzero_ps(), l2 = _mm256_setzero_ps();
    for (size_t i = 0; i < n; i++) {
        const __m256 v = _mm256_loadu_ps(xt + 8 * i), w = _mm256_loadu_ps(wt + 8 * i);
        const __m256i l = nearest_code(iscale, v, lowest, highest);
        _mm256_storeu_si256((__m256i *)(codes + 8 * i), l);
        const __m256 lf = _mm256_cvtepi32_ps(l);
        lx = _mm256_add_ps(lx, _mm256_mul_ps(_mm256_mul_ps(w, v), lf));
        l2 = _mm256_add_ps(l2, _mm256_mul_ps(_mm256_mul_ps(w, lf), lf));
    }
    *sum_lx = lx;
    *sum_l2 = l2;
}

__attribute__((target("avx2,f16c")))
void uqcit_avx2_symmetric_groups(size_t n, int32_t nmax, const float *x, const float *weights, int8_t *codes, float *scales) {
    float xt[32 * 8], wt[32 * 8];
    int32_t best_codes[32 * 8], trial_codes[32 * 8];
    side_by_side(n, x, xt);
    if (weights) side_by_side(n, weights, wt);
    else for (size_t k = 0; k < 8 * n; k++) wt[k] = xt[k] * xt[k];
    const __m256 zero = _mm256_setzero_ps(), sign = _mm256_set1_ps(-0.0f), nmax_v = _mm256_set1_ps((float)nmax);
    const __m256i lowest = _mm256_set1_epi32(-nmax), highest = _mm256_set1_epi32(nmax - 1);

    __m256 amax = zero, max = zero;
    for (size_t i = 0; i < n; i++) {
        const __m256 v = _mm256_loadu_ps(xt + 8 * i), a = _mm256_andnot_ps(sign, v);
        const __m256 larger = _mm256_cmp_ps(a, amax, _CMP_GT_OQ);
        amax = _mm256_blendv_ps(amax, a, larger);
        max = _mm256_blendv_ps(max, v, larger);
    }
    // Below GROUP_MAX_EPS the group counts as all zero: codes 0 and scale 0, and no trial runs for it.
    const __m256 tiny = _mm256_cmp_ps(amax, _mm256_set1_ps(1e-15f), _CMP_LT_OQ);

    __m256 sum_lx, sum_l2;
    fit(n, _mm256_div_ps(_mm256_xor_ps(nmax_v, sign), max), xt, wt, lowest, highest, best_codes, &sum_lx, &sum_l2);
    // suml2 != 0 ? sumlx / suml2 : 0, a NaN counting as not 0.
    __m256 scale = _mm256_and_ps(_mm256_div_ps(sum_lx, sum_l2), _mm256_cmp_ps(sum_l2, zero, _CMP_NEQ_UQ));
    __m256 best = _mm256_mul_ps(scale, sum_lx);

    for (int step = -9; step <= 9; step++) {
        if (step == 0) continue;
        const __m256 trial = _mm256_xor_ps(_mm256_set1_ps((float)nmax + 0.1f * (float)step), sign);
        __m256 lx, l2;
        fit(n, _mm256_div_ps(trial, max), xt, wt, lowest, highest, trial_codes, &lx, &l2);
        const __m256 better = _mm256_andnot_ps(tiny, _mm256_and_ps(_mm256_cmp_ps(l2, zero, _CMP_GT_OQ),
                                                                   _mm256_cmp_ps(_mm256_mul_ps(lx, lx), _mm256_mul_ps(best, l2), _CMP_GT_OQ)));
        if (_mm256_movemask_ps(better) == 0) continue;
        scale = _mm256_blendv_ps(scale, _mm256_div_ps(lx, l2), better);
        best = _mm256_blendv_ps(best, _mm256_mul_ps(scale, lx), better);
        const __m256i take = _mm256_castps_si256(better);
        for (size_t i = 0; i < n; i++) {
            const __m256i kept = _mm256_loadu_si256((const __m256i *)(best_codes + 8 * i));
            const __m256i tried = _mm256_loadu_si256((const __m256i *)(trial_codes + 8 * i));
            _mm256_storeu_si256((__m256i *)(best_codes + 8 * i), _mm256_blendv_epi8(kept, tried, take));
        }
    }

    float scale_lanes[8];
    _mm256_storeu_ps(scale_lanes, _mm256_andnot_ps(tiny, scale));
    const int tiny_lanes = _mm256_movemask_ps(tiny);
    for (size_t j = 0; j < 8; j++) {
        scales[j] = scale_lanes[j];
        for (size_t i = 0; i < n; i++) codes[n * j + i] = (tiny_lanes >> j) & 1 ? 0 : (int8_t)(best_codes[8 * i + j] + nmax);
    }
}
#else
void uqcit_avx2_symmetric_groups(size_t n, int32_t nmax, const float *x, const float *weights, int8_t *codes, float *scales) {
    (void)n; (void)nmax; (void)x; (void)weights; (void)codes; (void)scales;
}
#endif
