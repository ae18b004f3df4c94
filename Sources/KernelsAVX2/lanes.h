// What the AVX2 loops share: the largest of eight lanes, their sum in Swift's order, an f16 scale stored little-endian,
// the largest magnitude of blocks of 32 and eight blocks' scales side by side, llama.cpp's nearest_int lane by
// lane, eight groups laid side by side.
#ifndef UQCIT_KERNELS_AVX2_LANES_H
#define UQCIT_KERNELS_AVX2_LANES_H

#include <immintrin.h>
#include <stdint.h>
#include <string.h>

__attribute__((target("avx2,f16c")))
static inline float largest_lane(__m256 m) {
    __m128 h = _mm_max_ps(_mm256_castps256_ps128(m), _mm256_extractf128_ps(m, 1));
    h = _mm_max_ps(h, _mm_movehl_ps(h, h));
    return _mm_cvtss_f32(_mm_max_ss(h, _mm_shuffle_ps(h, h, 1)));
}

// Lanes summed first to last from -0, as Swift's SIMD8<Float>.sum() does.
__attribute__((target("avx2,f16c")))
static inline float sum_in_order(__m256 v) {
    float lanes[8], r = -0.0f;
    _mm256_storeu_ps(lanes, v);
    for (int k = 0; k < 8; k++) r += lanes[k];
    return r;
}

// Round to nearest even, as GGMLF16.encode does for every non-NaN float; x86 is little-endian, as the block is.
__attribute__((target("avx2,f16c")))
static inline void store_f16(float d, uint8_t *out) {
    const uint16_t bits = (uint16_t)_cvtss_sh(d, _MM_FROUND_TO_NEAREST_INT);
    memcpy(out, &bits, 2);
}

__attribute__((target("avx2,f16c")))
static inline __m256 load_f16_scale(const uint8_t *block) {
    uint16_t bits;
    memcpy(&bits, block, 2);
    return _mm256_set1_ps(_cvtsh_ss(bits));
}

// nearest_int (KQuantScales.nearestInt) lane by lane: the magic-number rounding read back as an integer.
__attribute__((target("avx2,f16c")))
static inline __m256i nearest_int(__m256 v) {
    const __m256i bits = _mm256_castps_si256(_mm256_add_ps(v, _mm256_set1_ps(12582912.0f)));
    return _mm256_sub_epi32(_mm256_and_si256(bits, _mm256_set1_epi32(0x007FFFFF)), _mm256_set1_epi32(0x00400000));
}

// The largest magnitude of a block's 32 weights in each lane of the result, not yet across lanes.
// max_ps returns its second operand when the first is NaN: NaNs never win, as in the scalar loops' maxima.
__attribute__((target("avx2,f16c")))
static inline __m256 largest_magnitudes(const float *x) {
    const __m256 sign = _mm256_set1_ps(-0.0f);
    __m256 m = _mm256_setzero_ps();
    for (int k = 0; k < 4; k++) m = _mm256_max_ps(_mm256_andnot_ps(sign, _mm256_loadu_ps(x + 8 * k)), m);
    return m;
}

// Lane j: the largest lane of m[j]. The magnitudes are never NaN or -0, so the order of the maxima is free.
__attribute__((target("avx2,f16c")))
static inline __m256 largest_lanes_of_eight(const __m256 m[8]) {
    __m256 pairs[4];
    for (int j = 0; j < 4; j++) {
        pairs[j] = _mm256_max_ps(_mm256_unpacklo_ps(m[2 * j], m[2 * j + 1]), _mm256_unpackhi_ps(m[2 * j], m[2 * j + 1]));
    }
    const __m256 low = _mm256_max_ps(_mm256_shuffle_ps(pairs[0], pairs[1], _MM_SHUFFLE(1, 0, 1, 0)), _mm256_shuffle_ps(pairs[0], pairs[1], _MM_SHUFFLE(3, 2, 3, 2)));
    const __m256 high = _mm256_max_ps(_mm256_shuffle_ps(pairs[2], pairs[3], _MM_SHUFFLE(1, 0, 1, 0)), _mm256_shuffle_ps(pairs[2], pairs[3], _MM_SHUFFLE(3, 2, 3, 2)));
    return _mm256_max_ps(_mm256_permute2f128_ps(low, high, 0x20), _mm256_permute2f128_ps(low, high, 0x31));
}

// Eight blocks' scales d (lane j for block j): the f16 bits each block stores (rounded to nearest even, as
// store_f16), and the inverse each quantizes with, d != 0 ? 1 / d : 0 (true for NaN, as in C: 1/NaN then).
__attribute__((target("avx2,f16c")))
static inline void scales_of_eight(__m256 d, uint16_t scale[8], float inverse[8]) {
    _mm_storeu_si128((__m128i *)scale, _mm256_cvtps_ph(d, _MM_FROUND_TO_NEAREST_INT));
    const __m256 nonzero = _mm256_cmp_ps(d, _mm256_setzero_ps(), _CMP_NEQ_UQ);
    _mm256_storeu_ps(inverse, _mm256_and_ps(_mm256_div_ps(_mm256_set1_ps(1.0f), d), nonzero));
}

// Eight groups of n <= 32 values (group j at src + n·j) side by side: value i of group j to dst[8·i + j], so lane
// j of the vector at dst + 8·i holds group j.
static inline void side_by_side(size_t n, const float *src, float *dst) {
    for (size_t j = 0; j < 8; j++) {
        for (size_t i = 0; i < n; i++) dst[8 * i + j] = src[n * j + i];
    }
}

#endif
