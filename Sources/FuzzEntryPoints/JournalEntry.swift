import Coordinator

/// A job journal: the input read as a journal file, and again framed as one record with a correct length and
/// CRC so that the record decoder sees it (random bytes almost never pass the CRC).
enum JournalEntry {
    static func run(_ input: [UInt8]) {
        _ = try? Journal.read(path: ScratchFolder.write(input, as: "journal.bin"))
        _ = try? Journal.read(path: ScratchFolder.write(littleEndian(UInt32(input.count)) + littleEndian(CRC32.checksum(input)) + input,
                                                        as: "journal.bin"))
    }

    private static func littleEndian(_ x: UInt32) -> [UInt8] { (0..<4).map { UInt8(truncatingIfNeeded: x >> (8 * $0)) } }
}
