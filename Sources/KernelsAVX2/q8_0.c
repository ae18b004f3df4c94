// Q8_0 (block_q8_0: an f16 scale d, then 32 signed bytes) by llama.cpp's reference rule: d = max|x| / 127,
// q = roundf(x / d). Bit for bit GGMLQ8_0.quantizeReference: roundf as its roundHalfAway (truncate, then step
// away from zero when the exact remaining fraction reaches one half), the code's byte truncated.
#include "KernelsAVX2.h"

#if defined(__x86_64__)
#include "lanes.h"

#pragma clang fp contract(off)

// The codes of the 32 weights at x for the inverse scale id, as the block stores them.
__attribute__((target("avx2,f16c")))
static inline void store_codes(const float *x, __m256 id, uint8_t *codes) {
    const __m256 half = _mm256_set1_ps(0.5f), minusHalf = _mm256_set1_ps(-0.5f);
    const __m256i byte = _mm256_set1_epi32(0xFF);
    __m256i q[4];
    for (int k = 0; k < 4; k++) {
        const __m256 t = _mm256_mul_ps(_mm256_loadu_ps(x + 8 * k), id);
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
        _mm_storeu_si128((__m128i *)(codes + 8 * k), _mm_packus_epi16(a, c));
    }
}

__attribute__((target("avx2,f16c")))
static inline void quantize_block(const float *x, uint8_t *out) {
    const float d = largest_lane(largest_magnitudes(x)) / 127.0f;
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    store_f16(d, out);
    store_codes(x, _mm256_set1_ps(id), out + 2);
}

// Eight blocks, their scales found side by side (lane j for block j) with the same float operations as one
// block's, so the same bytes: one block at a time, the two divisions between the vector steps bounded the loop.
__attribute__((target("avx2,f16c")))
static inline void quantize_eight_blocks(const float *x, uint8_t *out) {
    __m256 m[8];
    for (int j = 0; j < 8; j++) m[j] = largest_magnitudes(x + 32 * j);
    const __m256 d = _mm256_div_ps(largest_lanes_of_eight(m), _mm256_set1_ps(127.0f));
    uint16_t scale[8];
    float inverse[8];
    scales_of_eight(d, scale, inverse);
    for (int j = 0; j < 8; j++, x += 32, out += 34) {
        memcpy(out, &scale[j], 2);
        store_codes(x, _mm256_set1_ps(inverse[j]), out + 2);
    }
}

__attribute__((target("avx2,f16c")))
void uqcit_avx2_q8_0_quantize(const float *x, size_t blocks, uint8_t *out) {
    size_t b = 0;
    for (; b + 8 <= blocks; b += 8) quantize_eight_blocks(x + 32 * b, out + 34 * b);
    for (; b < blocks; b++) quantize_block(x + 32 * b, out + 34 * b);
}

#else
void uqcit_avx2_q8_0_quantize(const float *x, size_t blocks, uint8_t *out) { (void)x; (void)blocks; (void)out; }
#endif
