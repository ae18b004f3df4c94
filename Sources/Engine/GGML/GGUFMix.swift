// LOCAL STUB until wip-peer merges
public enum GGUFMix: String, Codable, Sendable, CaseIterable {
    case q8_0 = "Q8_0", q6_K = "Q6_K", q4_K_M = "Q4_K_M", q4_K_S = "Q4_K_S", iq4_xs = "IQ4_XS", q3_K_M = "Q3_K_M", q2_K = "Q2_K", q4_0 = "Q4_0"
}
