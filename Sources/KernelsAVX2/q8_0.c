// Q8_0 (block_q8_0: an f16 scale d, then 32 signed bytes) by llama.cpp's reference rule: d = max|x| / 127,
// q = roundf(x / d). Bit for bit GGMLQ8_0.quantizeReference: roundf as its roundHalfAway (truncate, then step
// away from zero when the exact remaining fraction reaches one half), the code's byte truncated.
#include "KernelsAVX2.h"

#if defined(__x86_64__)
#include "lanes.h"

#pragma clang fp contract(off)

__attribute__((target("avx2,f16c")))
void uqcit_avx2_q8_0_quantize(const float *x, size_t blocks, uint8_t *out) {
    const __m256 sign = _mm256_set1_ps(-0.0f), half = _mm256_set1_ps(0.5f), minusHalf = _mm256_set1_ps(-0.5f);
    const __m256i byte = _mm256_set1_epi32(0xFF);
    for (size_t b = 0; b < blocks; b++, x += 32, out += 34) {
        __m256 v[4];
        // max_ps returns its second operand when the first is NaN: NaNs never win, as in Swift.max(amax, |x|).
        __m256 m = _mm256_setzero_ps();
        for (int k = 0; k < 4; k++) { v[k] = _mm256_loadu_ps(x + 8 * k); m = _mm256_max_ps(_mm256_andnot_ps(sign, v[k]), m); }
        const float d = largest_lane(m) / 127.0f;
        const float id = d != 0.0f ? 1.0f / d : 0.0f;
        store_f16(d, out);
        const __m256 idv = _mm256_set1_ps(id);
        __m256i q[4];
        for (int k = 0; k < 4; k++) {
            const __m256 t = _mm256_mul_ps(v[k], idv);
            const __m256i whole = _mm256_cvttps_epi32(t);
            const __m256 fraction = _mm256_sub_ps(t, _mm256_cvtepi32_ps(whole));
            // A true comparison is all ones (-1): subtracting it steps up, adding it steps down.
            const __m256i up = _mm256_castps_si256(_mm256_cmp_ps(fraction, half, _CMP_GE_OQ));
            const __m256i down = _mm256_castps_si256(_mm256_cmp_ps(fraction, minusHalf, _CMP_LE_OQ));
            q[k] = _mm256_and_si256(_mm256_add_epi32(_mm256_sub_epi32(whole, up), down), byte);
        }
        // Eight int32 bytes to eight int16, twice, then to sixteen bytes: in order, as the codes are stored.
        for (int k = 0; k < 4; k += 2) {
            const __m128i a = _mm_packs_epi32(_mm256_castsi256_si128(q[k]), _mm256_extracti128_si256(q[k], 1));
            const __m128i c = _mm_packs_epi32(_mm256_castsi256_si128(q[k + 1]), _mm256_extracti128_si256(q[k + 1], 1));
            _mm_storeu_si128((__m128i *)(out + 2 + 8 * k), _mm_packus_epi16(a, c));
        }
    }
}
#else
void uqcit_avx2_q8_0_quantize(const float *x, size_t blocks, uint8_t *out) { (void)x; (void)blocks; (void)out; }
#endif
