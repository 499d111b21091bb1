/* The largest error of the C library's sin and cos (ulp of the result) over |x| < 0.25 rad, in bands of 0.01 rad,
 * measured against long double (x87, 64-bit significand) on uniformly drawn arguments (sin and cos are symmetric in
 * glibc: positive x only). Environments/LaneTrig.swift
 * takes its assumed bounds on glibc's error from this measurement and from glibc's own statements.
 *
 *   cc -O2 -o /tmp/glibc_sincos_error scripts/glibc_sincos_error.c -lm && /tmp/glibc_sincos_error 100000000
 *
 * Needs x86-64 (long double wider than double). */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

static uint64_t state = 0x9E3779B97F4A7C15u;

/* Uniform in [0, 1): xorshift64, 53 bits. */
static double uniform(void) {
    state ^= state << 13;
    state ^= state >> 7;
    state ^= state << 17;
    return (double)(state >> 11) * 0x1p-53;
}

/* |result - exact| in units of the spacing of doubles on the exact value's side of the result. */
static double ulp_error(double result, long double exact) {
    double toward = (long double)result > exact ? nextafter(result, -INFINITY) : nextafter(result, INFINITY);
    return (double)(fabsl((long double)result - exact) / fabsl((long double)toward - (long double)result));
}

int main(int argc, char **argv) {
    long count = argc > 1 ? atol(argv[1]) : 10000000;
    enum { bands = 25 };
    double worst_sin[bands] = {0}, worst_cos[bands] = {0};
    for (long i = 0; i < count; i++) {
        /* Full-precision arguments: a second draw fills the bits below the first's 53 (small x keeps them). */
        double x = (double)(0.25L * ((long double)uniform() + (long double)uniform() * 0x1p-53L));
        int band = (int)(x / 0.01);
        if (band >= bands) band = bands - 1;
        double s = ulp_error(sin(x), sinl((long double)x)), c = ulp_error(cos(x), cosl((long double)x));
        if (s > worst_sin[band]) worst_sin[band] = s;
        if (c > worst_cos[band]) worst_cos[band] = c;
    }
    printf("%ld arguments\n|x| (rad)      sin (ulp)  cos (ulp)\n", count);
    for (int b = 0; b < bands; b++)
        printf("[%.2f, %.2f)   %.4f     %.4f\n", b * 0.01, (b + 1) * 0.01, worst_sin[b], worst_cos[b]);
    return 0;
}
