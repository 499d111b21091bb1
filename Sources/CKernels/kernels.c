#include "kernels.h"
#include <math.h>

/* On x86-64 a second copy is compiled for AVX-512 and picked at load time on CPUs that have it (16 lanes instead of
 * 8). Square roots and divisions round exactly at any width, so both copies give the same bits. */
#if defined(__x86_64__)
__attribute__((target_clones("avx512f", "default")))
#endif
void dojo_adam_f32(float *restrict p, const float *restrict g, float *restrict m, float *restrict v,
                   float *restrict v_max, long n, dojo_adam_step h) {
    const float keep1 = 1 - h.beta1, keep2 = 1 - h.beta2, descent = -h.step_size;
    for (long i = 0; i < n; i++) {
        float grad = g[i], w = p[i];
        if (h.weight_decay != 0) {
            if (h.decoupled) w = w * h.shrink; else grad = grad + h.weight_decay * w;
        }
        float second = v[i] * h.beta2 + keep2 * grad * grad;
        v[i] = second;
        float source = second;
        if (h.amsgrad) {
            float previous = v_max[i];
            source = second > previous ? second : previous;
            v_max[i] = source;
        }
        float first = m[i] + keep1 * (grad - m[i]);  /* lerp, as PyTorch writes it */
        m[i] = first;
        float denominator = sqrtf(source) / h.correction2_sqrt + h.epsilon;
        p[i] = w + descent * (first / denominator);
    }
}
