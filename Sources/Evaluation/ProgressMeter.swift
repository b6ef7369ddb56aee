import Foundation

/// Progress of a long run as lines with the rate and the time left:
/// `[3/12, 41 s, 0.07 runs/s, ETA 123 s] message`.
public struct ProgressMeter: Sendable {
    /// Units of work in all.
    public let total: Int
    /// What a unit is called in the rate ("runs", "questions", ...).
    public let unit: String
    /// Units done so far.
    public private(set) var done = 0
    private let started = ContinuousClock.now

    /// A meter over `total` units called `unit`.
    public init(total: Int, unit: String = "runs") {
        self.total = total
        self.unit = unit
    }

    /// Counts one unit done and returns the progress line for `message`.
    public mutating func advance(_ message: String) -> String {
        done += 1
        let elapsed = Double((ContinuousClock.now - started) / .milliseconds(1)) / 1000
        let rate = elapsed > 0 ? Double(done) / elapsed : 0
        let eta = rate > 0 ? Double(total - done) / rate : 0
        return String(format: "[%d/%d, %.0f s, %.2f %@/s, ETA %.0f s] %@", done, total, elapsed, rate, unit, eta, message)
    }
}
