// llama.cpp's trial-scale searches for k-quant groups (make_qkx2/qkx3_quants with a min, make_qx_quants without),
// eight trials at a time, one per lane. Each lane does one trial's arithmetic in the order KQuantReferenceSearch's
// SIMD8 loops do, so its sums, and the winner chosen from them, are bit for bit those of the Swift loops.
#include "KernelsAVX2.h"

#if defined(__x86_64__)
#include <immintrin.h>

#pragma clang fp contract(off)

__attribute__((target("avx2")))
void uqcit_avx2_affine_trials(size_t n, float nmax, const float *x, const float *weights, float sum_w, float sum_x,
                              float max, float rmin, float rdelta, int nstep, int absolute, uint8_t *codes,
                              float *best_error, float *scale, float *min) {
    float trial_codes[32 * 8];
    const __m256 lane_steps = _mm256_setr_ps(0, 1, 2, 3, 4, 5, 6, 7);
    const __m256 magic = _mm256_set1_ps(12582912.0f), nmax_v = _mm256_set1_ps(nmax), zero = _mm256_setzero_ps();
    const __m256 sign = _mm256_set1_ps(-0.0f);
    int step = 0;
    while (step <= nstep) {
        const __m256 steps = _mm256_add_ps(lane_steps, _mm256_set1_ps((float)step));
        const __m256 trial = _mm256_add_ps(_mm256_add_ps(_mm256_set1_ps(rmin), _mm256_mul_ps(_mm256_set1_ps(rdelta), steps)), nmax_v);
        const __m256 iscale = _mm256_div_ps(trial, _mm256_set1_ps(max - *min));
        __m256 sum_l = zero, sum_l2 = zero, sum_xl = zero;
        for (size_t i = 0; i < n; i++) {
            const __m256 v = _mm256_mul_ps(iscale, _mm256_set1_ps(x[i] - *min));
            const __m256 clamped = _mm256_blendv_ps(v, nmax_v, _mm256_cmp_ps(v, nmax_v, _CMP_GE_OQ));
            // Not above zero (NaN included) is code 0, as +0.
            const __m256 l = _mm256_and_ps(_mm256_sub_ps(_mm256_add_ps(clamped, magic), magic), _mm256_cmp_ps(v, zero, _CMP_GT_OQ));
            _mm256_storeu_ps(trial_codes + 8 * i, l);
            const __m256 wl = _mm256_mul_ps(_mm256_set1_ps(weights[i]), l);
            sum_l = _mm256_add_ps(sum_l, wl);
            sum_l2 = _mm256_add_ps(sum_l2, _mm256_mul_ps(wl, l));
            sum_xl = _mm256_add_ps(sum_xl, _mm256_mul_ps(wl, _mm256_set1_ps(x[i])));
        }
        const __m256 sum_w_v = _mm256_set1_ps(sum_w), sum_x_v = _mm256_set1_ps(sum_x);
        const __m256 det = _mm256_sub_ps(_mm256_mul_ps(sum_w_v, sum_l2), _mm256_mul_ps(sum_l, sum_l));
        __m256 this_scale = _mm256_div_ps(_mm256_sub_ps(_mm256_mul_ps(sum_w_v, sum_xl), _mm256_mul_ps(sum_x_v, sum_l)), det);
        __m256 this_min = _mm256_div_ps(_mm256_sub_ps(_mm256_mul_ps(sum_l2, sum_x_v), _mm256_mul_ps(sum_l, sum_xl)), det);
        const __m256 positive = _mm256_cmp_ps(this_min, zero, _CMP_GT_OQ);
        this_min = _mm256_blendv_ps(this_min, zero, positive);
        this_scale = _mm256_blendv_ps(this_scale, _mm256_div_ps(sum_xl, sum_l2), positive);
        __m256 error = zero;
        for (size_t i = 0; i < n; i++) {
            const __m256 diff = _mm256_sub_ps(_mm256_add_ps(_mm256_mul_ps(this_scale, _mm256_loadu_ps(trial_codes + 8 * i)), this_min), _mm256_set1_ps(x[i]));
            const __m256 term = absolute ? _mm256_blendv_ps(diff, _mm256_xor_ps(diff, sign), _mm256_cmp_ps(diff, zero, _CMP_LT_OQ))
                                         : _mm256_mul_ps(diff, diff);
            error = _mm256_add_ps(error, _mm256_mul_ps(_mm256_set1_ps(weights[i]), term));
        }
        float dets[8], errors[8], scales[8], mins[8];
        _mm256_storeu_ps(dets, det); _mm256_storeu_ps(errors, error);
        _mm256_storeu_ps(scales, this_scale); _mm256_storeu_ps(mins, this_min);
        // A winner moves the min every later trial depends on: the next batch starts right after it.
        int advance = 8;
        const int lanes = nstep + 1 - step < 8 ? nstep + 1 - step : 8;
        for (int k = 0; k < lanes; k++) {
            if (!(dets[k] > 0 && errors[k] < *best_error)) continue;
            for (size_t i = 0; i < n; i++) codes[i] = (uint8_t)trial_codes[8 * i + k];
            *best_error = errors[k];
            *scale = scales[k];
            *min = mins[k];
            advance = k + 1;
            break;
        }
        step += advance;
    }
}
__attribute__((target("avx2")))
void uqcit_avx2_symmetric_trial_sums(size_t n, int32_t nmax, const float *x, const float *weights, const float *iscales,
                                     float *sum_lx, float *sum_l2) {
    const __m256 iscale = _mm256_loadu_ps(iscales), magic = _mm256_set1_ps(12582912.0f);
    const __m256i mantissa = _mm256_set1_epi32(0x007FFFFF), offset = _mm256_set1_epi32(0x00400000);
    const __m256i lowest = _mm256_set1_epi32(-nmax), highest = _mm256_set1_epi32(nmax - 1);
    __m256 lx = _mm256_setzero_ps(), l2 = _mm256_setzero_ps();
    for (size_t i = 0; i < n; i++) {
        // nearest_int lane by lane, clamped to -nmax...nmax - 1.
        const __m256i bits = _mm256_castps_si256(_mm256_add_ps(_mm256_mul_ps(iscale, _mm256_set1_ps(x[i])), magic));
        const __m256i nearest = _mm256_min_epi32(_mm256_max_epi32(_mm256_sub_epi32(_mm256_and_si256(bits, mantissa), offset), lowest), highest);
        const __m256 l = _mm256_cvtepi32_ps(nearest);
        const float w = weights ? weights[i] : x[i] * x[i];
        lx = _mm256_add_ps(lx, _mm256_mul_ps(_mm256_set1_ps(w * x[i]), l));
        l2 = _mm256_add_ps(l2, _mm256_mul_ps(_mm256_mul_ps(_mm256_set1_ps(w), l), l));
    }
    _mm256_storeu_ps(sum_lx, lx);
    _mm256_storeu_ps(sum_l2, l2);
}
#else
void uqcit_avx2_symmetric_trial_sums(size_t n, int32_t nmax, const float *x, const float *weights, const float *iscales,
                                     float *sum_lx, float *sum_l2) {
    (void)n; (void)nmax; (void)x; (void)weights; (void)iscales; (void)sum_lx; (void)sum_l2;
}
void uqcit_avx2_affine_trials(size_t n, float nmax, const float *x, const float *weights, float sum_w, float sum_x,
                              float max, float rmin, float rdelta, int nstep, int absolute, uint8_t *codes,
                              float *best_error, float *scale, float *min) {
    (void)n; (void)nmax; (void)x; (void)weights; (void)sum_w; (void)sum_x; (void)max; (void)rmin; (void)rdelta;
    (void)nstep; (void)absolute; (void)codes; (void)best_error; (void)scale; (void)min;
}
#endif
