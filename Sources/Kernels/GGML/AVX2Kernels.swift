#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import KernelsAVX2

/// Whether KernelsAVX2's loops run on this CPU, asked once; where they do not, the Swift loops they match run.
/// `UQCIT_NO_AVX2=1` forces the Swift loops, so one job can be run both ways and its bytes compared
/// (benchmarks/gguf_throughput.sh does).
public enum AVX2Kernels {
    public static let available: Bool = {
        if let v = getenv("UQCIT_NO_AVX2"), String(cString: v) == "1" { return false }
        return uqcit_avx2_available() != 0
    }()
}
