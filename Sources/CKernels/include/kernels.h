#ifndef DOJO_KERNELS_H
#define DOJO_KERNELS_H
/// y[i] = sqrt(x[i]) for n values. Built with -fno-math-errno so the loop compiles to vector square roots (Swift's
/// Float.squareRoot() keeps libm's errno path and stays scalar). The Swift reference is tested equal.
void dojo_sqrt_f32(const float *x, float *y, long n);
#endif
