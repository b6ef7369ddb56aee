/// Cuts streamed text at the first stop sequence. Text that could be the start of a stop
/// sequence is held back until the next piece shows whether it is one, so a client never sees
/// a stop sequence, not even its first characters.
public struct StopSequenceFilter: Sendable {
    public let stops: [String]
    private var pending = ""
    /// Whether a stop sequence has been seen.
    public private(set) var stopped = false

    public init(stops: [String]) { self.stops = stops.filter { !$0.isEmpty } }

    /// The part of `piece` (with what was held back) that is safe to send.
    public mutating func append(_ piece: String) -> String {
        guard !stopped else { return "" }
        pending += piece
        if let cut = stops.compactMap({ pending.range(of: $0)?.lowerBound }).min() {
            stopped = true
            let text = String(pending[..<cut])
            pending = ""
            return text
        }
        let keep = heldBackCount()
        let text = String(pending.dropLast(keep))
        pending = String(pending.suffix(keep))
        return text
    }

    /// What is still held back, at the end of generation.
    public mutating func finish() -> String {
        defer { pending = "" }
        return stopped ? "" : pending
    }

    /// The length of the longest end of `pending` that begins some stop sequence.
    private func heldBackCount() -> Int {
        var longest = 0
        for stop in stops {
            var length = min(stop.count - 1, pending.count)
            while length > longest {
                if stop.hasPrefix(pending.suffix(length)) {
                    longest = length
                    break
                }
                length -= 1
            }
        }
        return longest
    }
}
