import COpenBLAS

/// Engine steps run OpenBLAS on one thread: workers already run in parallel, and LAPACK's blocking (QR and SVD
/// in COMPENSATE and MEASURE) follows the thread count, so a fixed count is what makes the bytes the same on
/// every machine and in every process.
public enum BLASThreads {
    /// One BLAS thread from now on, and the pool OpenBLAS started at load stopped (once per process): its threads
    /// spin on sched_yield for about 2^28 cycles each before they sleep, 0.1 CPU second per core at every process
    /// start, and a single thread never uses them.
    public static func useOne() { _ = singleThreaded }

    private static let singleThreaded: Void = {
        openblas_set_num_threads(1)
        _ = blas_thread_shutdown_()
    }()
}
