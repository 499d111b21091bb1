#include "kernels.h"
#include <math.h>

void dojo_sqrt_f32(const float *restrict x, float *restrict y, long n) {
    for (long i = 0; i < n; i++) y[i] = sqrtf(x[i]);
}
