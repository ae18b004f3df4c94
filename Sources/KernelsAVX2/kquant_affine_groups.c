// llama.cpp's make_qkx2/qkx3_quants for eight groups at once, one group per lane: each lane runs the scalar
// algorithm's steps in order (min and max, the first fit, then every trial scale, a winner moving the min the later
// trials use), so no trial is ever recomputed, where eight trials of one group in the lanes (the Swift SIMD8 loop)
// restart their batch after each winner. Each lane's operations are KQuantReferenceSearch.affineScale's, in its
// order, so the codes, scales and mins are bit for bit the Swift function's for each group.
#include "KernelsAVX2.h"

#if defined(__x86_64__)
#include "lanes.h"

#pragma clang fp contract(off)

__attribute__((target("avx2,f16c")))
void uqcit_avx2_affine_groups(size_t n, float nmax, const float *x, const float *weights, float rmin, float rdelta,
                              int nstep, int absolute, uint8_t *codes, float *scales, float *negated_mins) {
    float xt[32 * 8], wt[32 * 8], best_codes[32 * 8], trial_codes[32 * 8];
    side_by_side(n, x, xt);
    side_by_side(n, weights, wt);
    const __m256 zero = _mm256_setzero_ps(), sign = _mm256_set1_ps(-0.0f), nmax_v = _mm256_set1_ps(nmax);
    const __m256 magic = _mm256_set1_ps(12582912.0f);
    const __m256i nmax_i = _mm256_set1_epi32((int)nmax);

    __m256 min = _mm256_loadu_ps(xt), max = min, sum_w = _mm256_loadu_ps(wt), sum_x = _mm256_mul_ps(sum_w, min);
    for (size_t i = 1; i < n; i++) {
        const __m256 v = _mm256_loadu_ps(xt + 8 * i), w = _mm256_loadu_ps(wt + 8 * i);
        min = _mm256_blendv_ps(min, v, _mm256_cmp_ps(v, min, _CMP_LT_OQ));
        max = _mm256_blendv_ps(max, v, _mm256_cmp_ps(v, max, _CMP_GT_OQ));
        sum_w = _mm256_add_ps(sum_w, w);
        sum_x = _mm256_add_ps(sum_x, _mm256_mul_ps(w, v));
    }
    min = _mm256_blendv_ps(min, zero, _mm256_cmp_ps(min, zero, _CMP_GT_OQ));
    // max <= min: the group is constant (or empty of range), codes 0 and scale 0, and no trial runs for it.
    const __m256 flat = _mm256_cmp_ps(max, min, _CMP_LE_OQ);

    // The first fit: nmax / (max - min), codes by nearest_int clamped to 0...nmax.
    const __m256 iscale = _mm256_div_ps(nmax_v, _mm256_sub_ps(max, min));
    __m256 scale = _mm256_div_ps(_mm256_set1_ps(1.0f), iscale);
    __m256 best_error = zero;
    for (size_t i = 0; i < n; i++) {
        const __m256 v = _mm256_loadu_ps(xt + 8 * i), w = _mm256_loadu_ps(wt + 8 * i);
        const __m256i nearest = nearest_int(_mm256_mul_ps(iscale, _mm256_sub_ps(v, min)));
        const __m256 code = _mm256_cvtepi32_ps(_mm256_max_epi32(_mm256_setzero_si256(), _mm256_min_epi32(nmax_i, nearest)));
        _mm256_storeu_ps(best_codes + 8 * i, code);
        const __m256 diff = _mm256_sub_ps(_mm256_add_ps(_mm256_mul_ps(scale, code), min), v);
        const __m256 term = absolute ? _mm256_andnot_ps(sign, diff) : _mm256_mul_ps(diff, diff);
        best_error = _mm256_add_ps(best_error, _mm256_mul_ps(w, term));
    }

    for (int step = 0; step <= nstep; step++) {
        const float trial = rmin + rdelta * (float)step + nmax;
        const __m256 trial_iscale = _mm256_div_ps(_mm256_set1_ps(trial), _mm256_sub_ps(max, min));
        __m256 sum_l = zero, sum_l2 = zero, sum_xl = zero;
        for (size_t i = 0; i < n; i++) {
            const __m256 v = _mm256_loadu_ps(xt + 8 * i), w = _mm256_loadu_ps(wt + 8 * i);
            const __m256 t = _mm256_mul_ps(trial_iscale, _mm256_sub_ps(v, min));
            const __m256 clamped = _mm256_blendv_ps(t, nmax_v, _mm256_cmp_ps(t, nmax_v, _CMP_GE_OQ));
            // Not above zero (NaN included) is code 0, as +0.
            const __m256 l = _mm256_and_ps(_mm256_sub_ps(_mm256_add_ps(clamped, magic), magic), _mm256_cmp_ps(t, zero, _CMP_GT_OQ));
            _mm256_storeu_ps(trial_codes + 8 * i, l);
            const __m256 wl = _mm256_mul_ps(w, l);
            sum_l = _mm256_add_ps(sum_l, wl);
            sum_l2 = _mm256_add_ps(sum_l2, _mm256_mul_ps(wl, l));
            sum_xl = _mm256_add_ps(sum_xl, _mm256_mul_ps(wl, v));
        }
        const __m256 det = _mm256_sub_ps(_mm256_mul_ps(sum_w, sum_l2), _mm256_mul_ps(sum_l, sum_l));
        __m256 this_scale = _mm256_div_ps(_mm256_sub_ps(_mm256_mul_ps(sum_w, sum_xl), _mm256_mul_ps(sum_x, sum_l)), det);
        __m256 this_min = _mm256_div_ps(_mm256_sub_ps(_mm256_mul_ps(sum_l2, sum_x), _mm256_mul_ps(sum_l, sum_xl)), det);
        const __m256 positive = _mm256_cmp_ps(this_min, zero, _CMP_GT_OQ);
        this_min = _mm256_blendv_ps(this_min, zero, positive);
        this_scale = _mm256_blendv_ps(this_scale, _mm256_div_ps(sum_xl, sum_l2), positive);
        __m256 error = zero;
        for (size_t i = 0; i < n; i++) {
            const __m256 v = _mm256_loadu_ps(xt + 8 * i), w = _mm256_loadu_ps(wt + 8 * i);
            const __m256 diff = _mm256_sub_ps(_mm256_add_ps(_mm256_mul_ps(this_scale, _mm256_loadu_ps(trial_codes + 8 * i)), this_min), v);
            const __m256 term = absolute ? _mm256_blendv_ps(diff, _mm256_xor_ps(diff, sign), _mm256_cmp_ps(diff, zero, _CMP_LT_OQ))
                                         : _mm256_mul_ps(diff, diff);
            error = _mm256_add_ps(error, _mm256_mul_ps(w, term));
        }
        const __m256 wins = _mm256_andnot_ps(flat, _mm256_and_ps(_mm256_cmp_ps(det, zero, _CMP_GT_OQ), _mm256_cmp_ps(error, best_error, _CMP_LT_OQ)));
        if (_mm256_movemask_ps(wins) == 0) continue;
        best_error = _mm256_blendv_ps(best_error, error, wins);
        scale = _mm256_blendv_ps(scale, this_scale, wins);
        min = _mm256_blendv_ps(min, this_min, wins);
        for (size_t i = 0; i < n; i++) {
            _mm256_storeu_ps(best_codes + 8 * i, _mm256_blendv_ps(_mm256_loadu_ps(best_codes + 8 * i), _mm256_loadu_ps(trial_codes + 8 * i), wins));
        }
    }

    float scale_lanes[8], min_lanes[8];
    _mm256_storeu_ps(scale_lanes, _mm256_andnot_ps(flat, scale));
    _mm256_storeu_ps(min_lanes, _mm256_xor_ps(min, sign));
    const int flat_lanes = _mm256_movemask_ps(flat);
    for (size_t j = 0; j < 8; j++) {
        scales[j] = scale_lanes[j];
        negated_mins[j] = min_lanes[j];
        for (size_t i = 0; i < n; i++) codes[n * j + i] = (flat_lanes >> j) & 1 ? 0 : (uint8_t)best_codes[8 * i + j];
    }
}
#else
void uqcit_avx2_affine_groups(size_t n, float nmax, const float *x, const float *weights, float rmin, float rdelta,
                              int nstep, int absolute, uint8_t *codes, float *scales, float *negated_mins) {
    (void)n; (void)nmax; (void)x; (void)weights; (void)rmin; (void)rdelta; (void)nstep; (void)absolute; (void)codes;
    (void)scales; (void)negated_mins;
}
#endif
