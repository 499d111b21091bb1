// Replaces glibc's allocation entry points in the test executable (definitions in the executable take precedence
// over libc's for every library in the process) and forwards to glibc's internal implementations. Counting is per
// thread, so tests running in parallel on other threads do not disturb a measurement.
#include <errno.h>
#include <stddef.h>
#include "allocation_counter.h"

extern void *__libc_malloc(size_t size);
extern void *__libc_calloc(size_t count, size_t size);
extern void *__libc_realloc(void *pointer, size_t size);
extern void *__libc_memalign(size_t alignment, size_t size);

static __thread int counting;
static __thread long allocations;

void dojo_allocation_counting_begin(void) { allocations = 0; counting = 1; }
long dojo_allocation_counting_end(void) { counting = 0; return allocations; }

void *malloc(size_t size) { if (counting) allocations++; return __libc_malloc(size); }
void *calloc(size_t count, size_t size) { if (counting) allocations++; return __libc_calloc(count, size); }
void *realloc(void *pointer, size_t size) { if (counting) allocations++; return __libc_realloc(pointer, size); }
void *memalign(size_t alignment, size_t size) { if (counting) allocations++; return __libc_memalign(alignment, size); }
void *aligned_alloc(size_t alignment, size_t size) { if (counting) allocations++; return __libc_memalign(alignment, size); }
int posix_memalign(void **out, size_t alignment, size_t size) {
    if (counting) allocations++;
    if (alignment < sizeof(void *) || (alignment & (alignment - 1)) != 0) return EINVAL;
    void *pointer = __libc_memalign(alignment, size);
    if (pointer == NULL) return ENOMEM;
    *out = pointer;
    return 0;
}
