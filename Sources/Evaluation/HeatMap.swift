import Foundation

/// An SVG heat map: a grid of values (rows x columns) on a diverging scale around 0 (blue below,
/// red above), each cell labelled with its value.
public struct HeatMap: Sendable {
    public var title: String
    public var caption: String
    public var rowLabel: String
    public var columnLabel: String
    public var rowNames: [String]
    public var columnNames: [String]
    /// `values[row][column]`.
    public var values: [[Double]]
    /// How cells are labelled (default: two decimals).
    public var format: String

    public init(
        title: String, caption: String = "", rowLabel: String, columnLabel: String, rowNames: [String], columnNames: [String],
        values: [[Double]], format: String = "%.2f"
    ) {
        self.title = title
        self.caption = caption
        self.rowLabel = rowLabel
        self.columnLabel = columnLabel
        self.rowNames = rowNames
        self.columnNames = columnNames
        self.values = values
        self.format = format
    }

    /// The colour of `value` on a scale whose ends are -`limit` and +`limit`.
    static func color(_ value: Double, limit: Double) -> String {
        let t = limit > 0 ? max(-1, min(1, value / limit)) : 0
        let (r, g, b): (Double, Double, Double) = t < 0
            ? (255 + t * (255 - 49), 255 + t * (255 - 104), 255 + t * (255 - 178))
            : (255 - t * (255 - 203), 255 - t * (255 - 24), 255 - t * (255 - 29))
        return String(format: "#%02x%02x%02x", Int(r.rounded()), Int(g.rounded()), Int(b.rounded()))
    }

    public func svg() -> String {
        let cell = 44.0, cellHeight = 24.0, left = 90.0, top = 78.0
        let width = max(left + Double(columnNames.count) * cell + 120, Double(title.count) * 8 + 40)
        let height = top + Double(rowNames.count) * cellHeight + 60
        let limit = values.flatMap { $0 }.map(abs).max() ?? 0
        var out = SVGFigure.header(width: width, height: height, title: title, caption: caption, fontSize: 11) + """
            <text x="\(LinePlot.f(left + Double(columnNames.count) * cell / 2))" y="\(Int(top - 22))" text-anchor="middle">\(LinePlot.escape(columnLabel))</text>
            <text transform="translate(18 \(LinePlot.f(top + Double(rowNames.count) * cellHeight / 2))) rotate(-90)" text-anchor="middle">\(LinePlot.escape(rowLabel))</text>

            """
        for (c, name) in columnNames.enumerated() {
            out += "<text x=\"\(LinePlot.f(left + (Double(c) + 0.5) * cell))\" y=\"\(Int(top - 6))\" text-anchor=\"middle\">\(LinePlot.escape(name))</text>\n"
        }
        for (r, name) in rowNames.enumerated() {
            let y = top + Double(r) * cellHeight
            out += "<text x=\"\(Int(left - 6))\" y=\"\(LinePlot.f(y + cellHeight / 2 + 4))\" text-anchor=\"end\">\(LinePlot.escape(name))</text>\n"
            for (c, value) in values[r].enumerated() {
                let x = left + Double(c) * cell
                out += "<rect x=\"\(LinePlot.f(x))\" y=\"\(LinePlot.f(y))\" width=\"\(Int(cell))\" height=\"\(Int(cellHeight))\" fill=\"\(Self.color(value, limit: limit))\" stroke=\"white\"/>"
                out += "<text x=\"\(LinePlot.f(x + cell / 2))\" y=\"\(LinePlot.f(y + cellHeight / 2 + 4))\" text-anchor=\"middle\" font-size=\"9\">\(String(format: format, value))</text>\n"
            }
        }
        let legendX = left + Double(columnNames.count) * cell + 24
        for (i, t) in stride(from: 1.0, through: -1.0, by: -0.25).enumerated() {
            let y = top + Double(i) * 14
            out += "<rect x=\"\(LinePlot.f(legendX))\" y=\"\(LinePlot.f(y))\" width=\"14\" height=\"14\" fill=\"\(Self.color(t * limit, limit: limit))\"/>"
            if i % 2 == 0 {
                out += "<text x=\"\(LinePlot.f(legendX + 20))\" y=\"\(LinePlot.f(y + 11))\" font-size=\"9\">\(String(format: format, t * limit))</text>"
            }
            out += "\n"
        }
        return out + "</svg>\n"
    }

    /// Writes the SVG atomically. Errors name the file.
    public func write(to url: URL) throws { try SVGFigure.write(svg(), to: url) }
}
