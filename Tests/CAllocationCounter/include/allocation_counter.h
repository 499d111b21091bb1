#ifndef DOJO_ALLOCATION_COUNTER_H
#define DOJO_ALLOCATION_COUNTER_H
/// Counts heap allocations (malloc, calloc, realloc, posix_memalign, aligned_alloc, memalign) made by the calling
/// thread between begin and end. The functions are replaced in the test executable and forward to glibc.
void dojo_allocation_counting_begin(void);
long dojo_allocation_counting_end(void);
#endif
