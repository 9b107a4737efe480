// Counts the bytes a process holds in aligned heap blocks (posix_memalign, aligned_alloc,
// memalign), for the memory benchmark (measurePeak.ts). onnxruntime's CPU allocator takes every
// tensor, weight and pre-packed weight from posix_memalign, while Node and V8 allocate with plain
// malloc or mmap, so this counts onnxruntime's data and not the host's activity around it
// (counting every malloc swung by MBs run to run with V8's background compilation).
// Loaded with LD_PRELOAD; the counters sit in a shared file mapping named by HEAPCOUNT_FILE
// (int64: live bytes, peak live bytes since the last reset, blocks), so the measured process
// reads them with a plain file read and resets the peak by writing the live count over it.
// Build: cc -O2 -shared -fPIC -o heapcount.so heapcount.c
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

extern void *__libc_memalign(size_t, size_t);
extern void __libc_free(void *);
extern void *__libc_realloc(void *, size_t);

static int64_t fallback[3];
static int64_t *counters = fallback;

// the aligned blocks handed out: open addressing on the pointer, guarded by a spin lock
#define SLOTS (1u << 22)
static uintptr_t *table;
static volatile int lock;
#define TOMBSTONE ((uintptr_t)1)

__attribute__((constructor)) static void heapcount_init(void) {
  table = mmap(NULL, SLOTS * sizeof(uintptr_t), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (table == MAP_FAILED) table = NULL;
  const char *path = getenv("HEAPCOUNT_FILE");
  if (!path) return;
  int fd = open(path, O_RDWR | O_CREAT, 0600);
  if (fd < 0) return;
  if (ftruncate(fd, sizeof fallback) == 0) {
    void *m = mmap(NULL, sizeof fallback, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (m != MAP_FAILED) counters = (int64_t *)m;
  }
  close(fd);
}

static void acquire(void) { while (__atomic_test_and_set(&lock, __ATOMIC_ACQUIRE)) {} }
static void release(void) { __atomic_clear(&lock, __ATOMIC_RELEASE); }
static uint32_t slot(uintptr_t p) { return (uint32_t)((p >> 4) * 0x9E3779B97F4A7C15ull >> 40) & (SLOTS - 1); }

static void *remember(void *p) {
  if (!p || !table) return p;
  int64_t n = (int64_t)malloc_usable_size(p);
  acquire();
  for (uint32_t i = slot((uintptr_t)p);; i = (i + 1) & (SLOTS - 1)) {
    if (table[i] == 0 || table[i] == TOMBSTONE) { table[i] = (uintptr_t)p; break; }
  }
  int64_t live = counters[0] += n;
  if (live > counters[1]) counters[1] = live;
  counters[2]++;
  release();
  return p;
}

/** Forgets `p` if it is one of ours. */
static void forget(void *p) {
  if (!p || !table) return;
  acquire();
  for (uint32_t i = slot((uintptr_t)p); table[i] != 0; i = (i + 1) & (SLOTS - 1)) {
    if (table[i] == (uintptr_t)p) {
      table[i] = TOMBSTONE;
      counters[0] -= (int64_t)malloc_usable_size(p);
      counters[2]--;
      break;
    }
  }
  release();
}

void free(void *p) { forget(p); __libc_free(p); }
void *memalign(size_t a, size_t n) { return remember(__libc_memalign(a, n)); }
void *aligned_alloc(size_t a, size_t n) { return remember(__libc_memalign(a, n)); }

int posix_memalign(void **out, size_t a, size_t n) {
  void *p = __libc_memalign(a, n);
  if (!p) return ENOMEM;
  *out = remember(p);
  return 0;
}

void *realloc(void *q, size_t n) {
  forget(q);
  return __libc_realloc(q, n);
}
