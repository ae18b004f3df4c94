#include <cblas.h>
#include <lapacke.h>

// OpenBLAS's own (exported, used by its fork handlers, not in cblas.h): joins the thread pool it started at load.
// A later call that asks for more threads starts the pool again.
int blas_thread_shutdown_(void);
