/// A table of results, rendered as aligned text (terminal, `.txt`) or as Markdown (README,
/// Experiments/README.md). Cells are text; numbers are formatted by the caller.
public struct ResultTable: Sendable, Equatable {
    /// Column headings.
    public var columns: [String]
    /// Rows of cells, one per column.
    public var rows: [[String]]
    /// Lines printed above the table (settings, machine, date).
    public var notes: [String]

    /// An empty table with `columns`.
    public init(columns: [String], notes: [String] = []) {
        self.columns = columns
        self.rows = []
        self.notes = notes
    }

    /// Appends a row; short rows are padded with empty cells, long ones refused.
    public mutating func append(_ cells: [String]) throws {
        guard cells.count <= columns.count else {
            throw EvaluationError("a table row has \(cells.count) cells for \(columns.count) columns: \(cells)")
        }
        rows.append(cells + Array(repeating: "", count: columns.count - cells.count))
    }

    /// Aligned text: the first column left-aligned, the others right-aligned (numbers).
    public var text: String {
        let widths = columns.indices.map { c in ([columns[c]] + rows.map { $0[c] }).map(\.count).max() ?? 0 }
        func line(_ cells: [String]) -> String {
            cells.enumerated().map { c, cell in
                let padding = String(repeating: " ", count: widths[c] - cell.count)
                return c == 0 ? cell + padding : padding + cell
            }.joined(separator: "  ")
        }
        return (notes + [line(columns)] + rows.map(line)).joined(separator: "\n") + "\n"
    }

    /// A Markdown table (with the notes as a paragraph above it).
    public var markdown: String {
        func line(_ cells: [String]) -> String { "| " + cells.map { $0.replacingPipes() }.joined(separator: " | ") + " |" }
        let rule = "|" + columns.indices.map { $0 == 0 ? "---|" : "---:|" }.joined()
        let head = notes.isEmpty ? "" : notes.joined(separator: "  \n") + "\n\n"
        return head + ([line(columns), rule] + rows.map(line)).joined(separator: "\n") + "\n"
    }
}

extension String {
    /// The text with `|` escaped for a Markdown cell.
    fileprivate func replacingPipes() -> String { split(separator: "|", omittingEmptySubsequences: false).joined(separator: "\\|") }
}
