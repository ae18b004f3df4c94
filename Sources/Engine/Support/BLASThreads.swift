import COpenBLAS

/// Engine steps run OpenBLAS on one thread: workers already run in parallel, and LAPACK's blocking (QR and SVD
/// in COMPENSATE and MEASURE) follows the thread count, so a fixed count is what makes the bytes the same on
/// every machine and in every process.
public enum BLASThreads {
    public static func useOne() { openblas_set_num_threads(1) }
}
