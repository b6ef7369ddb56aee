/// An ablation as the command line writes it: comma-separated `key=value` fields, e.g.
/// `layer=7,head=3,site=head_output,rows=prompt,op=zero`.
///
/// - `layer`: a layer, a range `2-5`, or `all` (required);
/// - `site`: an `InterventionSite` name (required); `head`: a head index (per-head sites only);
/// - `rows`: a `RowSelection` (default `all`);
/// - `op`: `zero`, `mean` (with `from=TRACE.h5`, the mean of the recorded rows, or
///   `vector=FILE.json`), `steer` (with `vector=FILE.json` and `scale=S`, default 1) or `patch`
///   (with `from=TRACE.h5`, the recorded rows of the same steps).
public struct AblationSpec: Sendable, Equatable {
    /// Layers (nil: all).
    public var layers: ClosedRange<Int>?
    public var head: Int?
    public var site: InterventionSite
    public var rows: RowSelection
    /// `zero`, `mean`, `steer` or `patch`.
    public var operation: String
    /// `from=`: an HDF5 trace with recorded activations.
    public var source: String?
    /// `vector=`: a JSON file with a list of floats.
    public var vector: String?
    public var scale: Float

    public static let operations = ["zero", "mean", "steer", "patch"]

    /// Parses `text`; throws naming the field at fault.
    public init(parsing text: String) throws {
        var fields: [String: String] = [:]
        for part in text.split(separator: ",") {
            let pair = part.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            guard pair.count == 2, !pair[0].isEmpty else {
                throw ModelError("--ablate \"\(text)\": \"\(part)\" is not key=value")
            }
            guard Self.keys.contains(pair[0]) else {
                throw ModelError("--ablate \"\(text)\": unknown field \"\(pair[0])\" (known: \(Self.keys.joined(separator: ", ")))")
            }
            guard fields[pair[0]] == nil else { throw ModelError("--ablate \"\(text)\": \(pair[0]) is given twice") }
            fields[pair[0]] = pair[1]
        }
        func fail(_ reason: String) -> ModelError { ModelError("--ablate \"\(text)\": \(reason)") }
        guard let layer = fields["layer"] else { throw fail("layer= is missing (a layer, a range like 2-5, or all)") }
        if layer == "all" {
            layers = nil
        } else {
            let bounds = layer.split(separator: "-", omittingEmptySubsequences: false).map { Int($0) }
            guard (1...2).contains(bounds.count), let low = bounds[0], let high = bounds[bounds.count - 1], low >= 0, low <= high else {
                throw fail("layer=\(layer) is not a layer, a range like 2-5, or all")
            }
            layers = low...high
        }
        guard let siteName = fields["site"] else { throw fail("site= is missing") }
        guard let site = InterventionSite(rawValue: siteName) else {
            throw fail("unknown site \"\(siteName)\" (known: \(InterventionSite.allCases.map(\.rawValue).joined(separator: ", ")))")
        }
        self.site = site
        if let headText = fields["head"] {
            guard let head = Int(headText), head >= 0 else { throw fail("head=\(headText) is not a head index") }
            self.head = head
        }
        let rowsName = fields["rows"] ?? "all"
        guard let rows = RowSelection(rawValue: rowsName) else {
            throw fail("unknown rows \"\(rowsName)\" (known: \(RowSelection.allCases.map(\.rawValue).joined(separator: ", ")))")
        }
        self.rows = rows
        operation = fields["op"] ?? ""
        guard Self.operations.contains(operation) else {
            throw fail("op=\(operation.isEmpty ? " is missing" : operation + " is unknown") (known: \(Self.operations.joined(separator: ", ")))")
        }
        source = fields["from"]
        vector = fields["vector"]
        if let scaleText = fields["scale"] {
            guard let scale = Float(scaleText), scale.isFinite else { throw fail("scale=\(scaleText) is not a number") }
            self.scale = scale
        } else {
            scale = 1
        }
        switch operation {
        case "mean" where (source == nil) == (vector == nil): throw fail("op=mean needs from=TRACE.h5 or vector=FILE.json")
        case "steer" where vector == nil: throw fail("op=steer needs vector=FILE.json")
        case "patch" where source == nil: throw fail("op=patch needs from=TRACE.h5")
        default: break
        }
        if site == .attentionWeights { throw fail("attention_weights can be read, not changed") }
        if head != nil && !site.hasHeads { throw fail("\(site.rawValue) has no heads (heads are in query, key, value and head_output)") }
    }

    static let keys = ["layer", "head", "site", "rows", "op", "from", "vector", "scale"]
}
