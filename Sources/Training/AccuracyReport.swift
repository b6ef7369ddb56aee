import Foundation

/// Writes a guess-accuracy table as `ppd-accuracy/1` JSON, the file `GuessAccuracies` reads and
/// the tree builder sizes trees from: `accuracies[d][k]` per rank (not cumulative), with
/// `fields` saying what was measured (prompt tokens, model, questions, cuts, ...).
public enum AccuracyReport {
    /// The format name.
    public static let format = "ppd-accuracy/1"

    /// The JSON object, keys sorted, pretty-printed.
    public static func data(perRank: [[Double]], fields: [String: Any]) throws -> Data {
        var report = fields
        report["format"] = format
        report["description"] =
            "accuracies[d][k]: probability that prompt token d+1's rank-k guess is the model's greedy token at distance d+1 (per rank, not cumulative)"
        report["accuracies"] = perRank
        return try JSONSerialization.data(withJSONObject: report, options: [.prettyPrinted, .sortedKeys])
    }

    /// Writes the report to `url` atomically.
    public static func write(perRank: [[Double]], fields: [String: Any], to url: URL) throws {
        try data(perRank: perRank, fields: fields).write(to: url, options: .atomic)
    }
}
