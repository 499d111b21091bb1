#ifndef DOJO_KERNELS_H
#define DOJO_KERNELS_H
/// Adam's hyperparameters for one step (see `Adam.step` in Sources/Neural/Optimizers.swift).
typedef struct {
    float beta1, beta2, epsilon, weight_decay;
    float shrink;            // 1 − lr·λ (decoupled decay only)
    float step_size;         // lr / (1 − β₁ᵗ)
    float correction2_sqrt;  // √(1 − β₂ᵗ)
    int decoupled, amsgrad;
} dojo_adam_step;

/// One Adam/AdamW step over n parameters in one pass: p (weights), g (gradients), m and v (moments), v_max (AMSGrad's
/// running maximum, unused otherwise). The operations and their order are those of `Adam.referenceStep`, which the
/// tests hold it bitwise equal to; built with -fno-math-errno (vector square roots) and -ffp-contract=off (no fused
/// multiply-adds, so it rounds as the Swift reference does). x86-64 builds carry an AVX-512 copy chosen at load time.
void dojo_adam_f32(float *p, const float *g, float *m, float *v, float *v_max, long n, dojo_adam_step h);
#endif
