import Foundation

/// How often each prompt token's guesses are right: `perRank[d][k]` is the probability that the
/// rank-k guess of prompt token d + 1 is the model's greedy token at distance d + 1. Entries are
/// per rank, not cumulative, so a row sums to the top-k accuracy of its distance.
///
/// Files: any JSON object with an `accuracies` array of rows (distances) of per-rank
/// probabilities: `ppd eval-guesses --out` and `ppd train --accuracy-out` write one
/// (`ppd-accuracy/1`), and so is the paper's test vector in `shared/reference/ppd-trees/`.
public struct GuessAccuracies: Sendable, Equatable {
    /// Rows = distances 1, 2, ...; columns = ranks 0, 1, ... (per-rank probabilities).
    public let perRank: [[Double]]

    /// A table from per-rank rows. Throws `GuessAccuraciesError` when it is empty, ragged, or
    /// holds an entry outside [0, 1] or a row whose sum exceeds 1.
    public init(perRank: [[Double]], file: String? = nil) throws {
        func fail(_ reason: String) -> GuessAccuraciesError { GuessAccuraciesError(file: file, reason: reason) }
        guard let width = perRank.first?.count, width > 0 else {
            throw fail("the accuracy table is empty: expected rows (distances) of per-rank probabilities")
        }
        for (d, row) in perRank.enumerated() {
            guard row.count == width else {
                throw fail("row \(d) (distance \(d + 1)) has \(row.count) ranks, row 0 has \(width)")
            }
            if let bad = row.firstIndex(where: { !($0.isFinite && $0 >= 0 && $0 <= 1) }) {
                throw fail("accuracy of distance \(d + 1), rank \(bad) is \(row[bad]), not a probability")
            }
            let sum = row.reduce(0, +)
            guard sum <= 1 + 1e-6 else {
                throw fail("the ranks of distance \(d + 1) sum to \(sum) > 1: entries must be per rank, not cumulative")
            }
        }
        self.perRank = perRank
    }

    /// Reads the `accuracies` array of a JSON file. Errors name the file.
    public init(contentsOf url: URL) throws {
        let data: Data
        do {
            data = try Data(contentsOf: url)
        } catch {
            throw GuessAccuraciesError(file: url.path, reason: "cannot read it: \(error.localizedDescription)")
        }
        let json = try? JSONDecoder().decode(JSONValue.self, from: data)
        guard case .object(let object)? = json else {
            throw GuessAccuraciesError(file: url.path, reason: "not a JSON object")
        }
        guard case .array(let rows)? = object["accuracies"] else {
            throw GuessAccuraciesError(file: url.path, reason: "no \"accuracies\" array of rows (one per distance)")
        }
        var table: [[Double]] = []
        for (d, row) in rows.enumerated() {
            guard case .array(let entries) = row else {
                throw GuessAccuraciesError(file: url.path, reason: "accuracies row \(d) is not a list of numbers")
            }
            var values: [Double] = []
            for entry in entries {
                // A rank never right is written as the integer 0: any JSON number will do.
                guard let value = entry.doubleValue else {
                    throw GuessAccuraciesError(file: url.path, reason: "accuracies row \(d) holds a value that is not a number")
                }
                values.append(value)
            }
            table.append(values)
        }
        try self.init(perRank: table, file: url.path)
    }

    /// Number of distances (rows).
    public var distances: Int { perRank.count }
    /// Number of ranks per distance (columns).
    public var ranks: Int { perRank[0].count }

    /// Probability that one of the top `k` guesses at `distance` (1-based) is right.
    public func topK(_ k: Int, distance: Int) -> Double {
        perRank[distance - 1].prefix(k).reduce(0, +)
    }

    /// The first `count` distances only.
    public func truncated(toDistances count: Int) -> GuessAccuracies {
        GuessAccuracies(unchecked: Array(perRank.prefix(count)))
    }

    init(unchecked perRank: [[Double]]) { self.perRank = perRank }
}

/// An accuracy table that cannot be used; names the file (when there is one) and the reason.
public struct GuessAccuraciesError: Error, CustomStringConvertible, Equatable, Sendable {
    /// The file read, if any.
    public var file: String?
    /// What is wrong.
    public var reason: String
    /// An error about `file` (if any) for `reason`.
    public init(file: String?, reason: String) {
        self.file = file
        self.reason = reason
    }

    public var description: String { (file.map { "\($0): " } ?? "") + reason }
}
