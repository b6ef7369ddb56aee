import Foundation

/// A small SVG line chart: panels stacked vertically, each with its own y axis and any number of
/// series (lines with point markers, or markers only), a legend, and optional highlighted points.
/// Enough for the toolkit's figures (speedup and accepted length against tree size), with no
/// dependency.
public struct LinePlot: Sendable {
    /// One series of (x, y) points.
    public struct Series: Sendable {
        public var name: String
        public var points: [(x: Double, y: Double)]
        /// Draw a line through the points (otherwise markers only).
        public var line: Bool
        /// A point label drawn next to each marker (same count as points), or empty.
        public var labels: [String]

        public init(name: String, points: [(x: Double, y: Double)], line: Bool = true, labels: [String] = []) {
            self.name = name
            self.points = points
            self.line = line
            self.labels = labels
        }
    }

    /// One panel: a y axis and its series.
    public struct Panel: Sendable {
        public var title: String
        public var yLabel: String
        public var series: [Series]
        /// Horizontal reference line (for example speedup 1), if any.
        public var reference: Double?
        /// Points to ring and label (the chosen tree).
        public var highlights: [(x: Double, y: Double, label: String)]

        public init(
            title: String, yLabel: String, series: [Series], reference: Double? = nil,
            highlights: [(x: Double, y: Double, label: String)] = []
        ) {
            self.title = title
            self.yLabel = yLabel
            self.series = series
            self.reference = reference
            self.highlights = highlights
        }
    }

    public var title: String
    public var xLabel: String
    public var panels: [Panel]
    /// A line of small print under the title (command, machine, date).
    public var caption: String

    public init(title: String, xLabel: String, panels: [Panel], caption: String = "") {
        self.title = title
        self.xLabel = xLabel
        self.panels = panels
        self.caption = caption
    }

    /// The chart as SVG text.
    public func svg() -> String {
        let width = 760.0, panelHeight = 300.0, top = 64.0, left = 70.0, right = 190.0, gap = 54.0
        let height = top + Double(panels.count) * (panelHeight + gap) + 10
        let plotWidth = width - left - right
        let allX = panels.flatMap { $0.series.flatMap { $0.points.map(\.x) } }
        let (xMin, xMax) = LinePlot.range(allX, includeZero: false)
        var out = SVGFigure.header(width: width, height: height, title: title, caption: caption)
        for (p, panel) in panels.enumerated() {
            let y0 = top + Double(p) * (panelHeight + gap)
            var ys = panel.series.flatMap { $0.points.map(\.y) }
            if let r = panel.reference { ys.append(r) }
            let (yMin, yMax) = LinePlot.range(ys, includeZero: true)
            func px(_ x: Double) -> Double { left + (x - xMin) / (xMax - xMin) * plotWidth }
            func py(_ y: Double) -> Double { y0 + panelHeight - (y - yMin) / (yMax - yMin) * panelHeight }
            out += "<text x=\"\(Int(left))\" y=\"\(LinePlot.f(y0 - 8))\" font-weight=\"bold\">\(LinePlot.escape(panel.title))</text>\n"
            out += "<rect x=\"\(Int(left))\" y=\"\(LinePlot.f(y0))\" width=\"\(Int(plotWidth))\" height=\"\(Int(panelHeight))\" fill=\"none\" stroke=\"#333\"/>\n"
            for tick in LinePlot.ticks(yMin, yMax) {
                let y = py(tick)
                out += "<line x1=\"\(Int(left))\" x2=\"\(LinePlot.f(left + plotWidth))\" y1=\"\(LinePlot.f(y))\" y2=\"\(LinePlot.f(y))\" stroke=\"#e5e5e5\"/>"
                out += "<text x=\"\(Int(left - 6))\" y=\"\(LinePlot.f(y + 4))\" text-anchor=\"end\">\(LinePlot.label(tick))</text>\n"
            }
            for tick in LinePlot.ticks(xMin, xMax) {
                let x = px(tick)
                out += "<line x1=\"\(LinePlot.f(x))\" x2=\"\(LinePlot.f(x))\" y1=\"\(LinePlot.f(y0))\" y2=\"\(LinePlot.f(y0 + panelHeight))\" stroke=\"#f0f0f0\"/>"
                out += "<text x=\"\(LinePlot.f(x))\" y=\"\(LinePlot.f(y0 + panelHeight + 16))\" text-anchor=\"middle\">\(LinePlot.label(tick))</text>\n"
            }
            if let r = panel.reference {
                out += "<line x1=\"\(Int(left))\" x2=\"\(LinePlot.f(left + plotWidth))\" y1=\"\(LinePlot.f(py(r)))\" y2=\"\(LinePlot.f(py(r)))\" stroke=\"#555\" stroke-dasharray=\"5,4\"/>\n"
            }
            out += "<text x=\"\(LinePlot.f(left + plotWidth / 2))\" y=\"\(LinePlot.f(y0 + panelHeight + 34))\" text-anchor=\"middle\">\(LinePlot.escape(xLabel))</text>\n"
            out += "<text transform=\"translate(18 \(LinePlot.f(y0 + panelHeight / 2))) rotate(-90)\" text-anchor=\"middle\">\(LinePlot.escape(panel.yLabel))</text>\n"
            for (s, series) in panel.series.enumerated() {
                let color = SVGFigure.color(s)
                let points = series.points.sorted { $0.x < $1.x }
                if series.line, points.count > 1 {
                    let d = points.map { "\(LinePlot.f(px($0.x))),\(LinePlot.f(py($0.y)))" }.joined(separator: " ")
                    out += "<polyline points=\"\(d)\" fill=\"none\" stroke=\"\(color)\" stroke-width=\"1.8\"/>\n"
                }
                for (i, point) in series.points.enumerated() {
                    out += "<circle cx=\"\(LinePlot.f(px(point.x)))\" cy=\"\(LinePlot.f(py(point.y)))\" r=\"3.2\" fill=\"\(color)\"/>"
                    if i < series.labels.count, !series.labels[i].isEmpty {
                        out += "<text x=\"\(LinePlot.f(px(point.x) + 5))\" y=\"\(LinePlot.f(py(point.y) - 5))\" font-size=\"9\" fill=\"\(color)\">\(LinePlot.escape(series.labels[i]))</text>"
                    }
                }
                out += "\n"
                let ly = y0 + 14 + Double(s) * 18
                out += "<rect x=\"\(LinePlot.f(left + plotWidth + 12))\" y=\"\(LinePlot.f(ly - 9))\" width=\"12\" height=\"12\" fill=\"\(color)\"/>"
                out += "<text x=\"\(LinePlot.f(left + plotWidth + 30))\" y=\"\(LinePlot.f(ly + 1))\">\(LinePlot.escape(series.name))</text>\n"
            }
            for h in panel.highlights {
                out += "<circle cx=\"\(LinePlot.f(px(h.x)))\" cy=\"\(LinePlot.f(py(h.y)))\" r=\"8\" fill=\"none\" stroke=\"black\" stroke-width=\"1.5\"/>"
                out += "<text x=\"\(LinePlot.f(px(h.x) + 10))\" y=\"\(LinePlot.f(py(h.y) + 16))\" font-size=\"11\" font-weight=\"bold\">\(LinePlot.escape(h.label))</text>\n"
            }
        }
        return out + "</svg>\n"
    }

    /// Writes the SVG atomically. Errors name the file.
    public func write(to url: URL) throws { try SVGFigure.write(svg(), to: url) }

    // MARK: Helpers

    static func range(_ values: [Double], includeZero: Bool) -> (Double, Double) {
        let finite = values.filter(\.isFinite)
        var low = finite.min() ?? 0, high = finite.max() ?? 1
        if includeZero { low = min(low, 0) }
        if high - low < 1e-9 { high = low + 1 }
        let pad = (high - low) * 0.05
        return (includeZero && low == 0 ? 0 : low - pad, high + pad)
    }

    static func ticks(_ low: Double, _ high: Double) -> [Double] {
        let raw = (high - low) / 6
        let magnitude = pow(10, floor(log10(raw)))
        let step = [1.0, 2, 2.5, 5, 10].map { $0 * magnitude }.first { $0 >= raw } ?? raw
        var tick = ceil(low / step) * step
        var result: [Double] = []
        while tick <= high + step * 1e-9 {
            result.append(tick)
            tick += step
        }
        return result
    }

    static func label(_ v: Double) -> String {
        abs(v - v.rounded()) < 1e-9 ? String(Int(v.rounded())) : String(format: "%.2g", v)
    }

    static func f(_ v: Double) -> String { String(format: "%.1f", v) }

    static func escape(_ s: String) -> String {
        s.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
    }
}
