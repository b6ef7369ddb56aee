import Foundation

/// The process's resident memory, from `/proc/self/status` (Linux; zeros elsewhere).
public struct ProcessMemory: Sendable, Equatable, Encodable {
    /// Resident set size now, in bytes (`VmRSS`).
    public let residentBytes: Int
    /// Peak resident set size, in bytes (`VmHWM`).
    public let peakResidentBytes: Int

    /// The values now.
    public static func current() -> ProcessMemory {
        guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else {
            return ProcessMemory(residentBytes: 0, peakResidentBytes: 0)
        }
        func kilobytes(_ key: String) -> Int {
            guard let line = status.split(separator: "\n").first(where: { $0.hasPrefix(key + ":") }) else { return 0 }
            return Int(line.dropFirst(key.count + 1).trimmingCharacters(in: .whitespaces).split(separator: " ").first ?? "") ?? 0
        }
        return ProcessMemory(residentBytes: kilobytes("VmRSS") * 1024, peakResidentBytes: kilobytes("VmHWM") * 1024)
    }

    enum CodingKeys: String, CodingKey { case residentBytes = "resident_bytes", peakResidentBytes = "peak_resident_bytes" }
}
