/// Chooses one candidate per tensor to meet a byte budget at the least total loss (the `auto` profile; as
/// llama.cpp's target-bpw and exllamav2's optimiser do). Loss of a tensor = weight * relative error^2, where the
/// weight is its parameter count, or its measured output sensitivity when one is known.
/// Greedy over each tensor's lower convex hull of (bytes, loss), steepest loss-per-byte first: optimal for the
/// convexified problem, and every step keeps the total within the budget. The discrete problem can leave budget
/// unused, so the greedy result is compared with every uniform choice that fits and the better one is kept.
public enum BitAllocator {
    public struct Choice: Sendable, Equatable {
        public var candidate: Int
        public var bytes: Int
        public var loss: Double
    }

    public static func allocate(_ measurements: [[CandidateMeasurement]], weights: [Double], budgetBytes: Int) -> [Choice]? {
        let choices = measurements.enumerated().map { i, m in
            m.enumerated().map { Choice(candidate: $0.offset, bytes: $0.element.bytes, loss: weights[i] * $0.element.relativeError * $0.element.relativeError) }
        }
        let hulls = choices.map(hull)
        var position = [Int](repeating: 0, count: hulls.count)
        var total = hulls.reduce(0) { $0 + $1[0].bytes }
        guard total <= budgetBytes else { return nil }
        while true {
            var best: (tensor: Int, slope: Double)? = nil
            for (t, h) in hulls.enumerated() where position[t] + 1 < h.count {
                let a = h[position[t]], b = h[position[t] + 1]
                guard total - a.bytes + b.bytes <= budgetBytes else { continue }
                let slope = (b.loss - a.loss) / Double(max(b.bytes - a.bytes, 1))
                if best == nil || slope < best!.slope { best = (t, slope) }
            }
            guard let (t, _) = best else { break }
            total += hulls[t][position[t] + 1].bytes - hulls[t][position[t]].bytes
            position[t] += 1
        }
        var best = hulls.enumerated().map { $0.element[position[$0.offset]] }
        for k in 0..<(choices.first?.count ?? 0) where choices.allSatisfy({ $0.count > k }) {
            let uniform = choices.map { $0[k] }
            if uniform.reduce(0, { $0 + $1.bytes }) <= budgetBytes && uniform.reduce(0, { $0 + $1.loss }) < best.reduce(0, { $0 + $1.loss }) {
                best = uniform
            }
        }
        return best
    }

    /// Points sorted by bytes, keeping only those on the lower convex hull with strictly falling loss.
    static func hull(_ points: [Choice]) -> [Choice] {
        let sorted = points.sorted { ($0.bytes, $0.loss) < ($1.bytes, $1.loss) }
        var h: [Choice] = []
        for p in sorted {
            if let last = h.last, p.loss >= last.loss { continue }
            while h.count >= 2 {
                let a = h[h.count - 2], b = h[h.count - 1]
                // b lies above the segment a -> p: drop it.
                let lhs = (b.loss - a.loss) * Double(p.bytes - a.bytes)
                let rhs = (p.loss - a.loss) * Double(b.bytes - a.bytes)
                if lhs >= rhs { h.removeLast() } else { break }
            }
            h.append(p)
        }
        return h
    }
}
