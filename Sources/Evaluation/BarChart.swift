import Foundation

/// A grouped SVG bar chart: one group per category (a benchmark), one bar per series (a method)
/// in each group, the value printed above each bar, an optional dashed reference line (speedup 1).
public struct BarChart: Sendable {
    /// One series: a value per category (NaN: no bar).
    public struct Series: Sendable {
        public var name: String
        public var values: [Double]

        public init(name: String, values: [Double]) {
            self.name = name
            self.values = values
        }
    }

    public var title: String
    public var yLabel: String
    public var categories: [String]
    public var series: [Series]
    public var reference: Double?
    /// Small print under the title (machine, date, commit).
    public var caption: String

    public init(title: String, yLabel: String, categories: [String], series: [Series], reference: Double? = nil, caption: String = "") {
        self.title = title
        self.yLabel = yLabel
        self.categories = categories
        self.series = series
        self.reference = reference
        self.caption = caption
    }

    /// The chart as SVG text.
    public func svg() -> String {
        let width = 760.0, height = 420.0, top = 64.0, left = 70.0, right = 190.0, plotHeight = 290.0
        let plotWidth = width - left - right
        var values = series.flatMap(\.values)
        if let reference { values.append(reference) }
        let (yMin, yMax) = LinePlot.range(values, includeZero: true)
        func py(_ y: Double) -> Double { top + plotHeight - (y - yMin) / (yMax - yMin) * plotHeight }
        let groupWidth = plotWidth / Double(max(categories.count, 1))
        let barWidth = groupWidth * 0.8 / Double(max(series.count, 1))
        var out = SVGFigure.header(width: width, height: height, title: title, caption: caption) + """
            <rect x="\(Int(left))" y="\(Int(top))" width="\(Int(plotWidth))" height="\(Int(plotHeight))" fill="none" stroke="#333"/>

            """
        for tick in LinePlot.ticks(yMin, yMax) {
            out += "<line x1=\"\(Int(left))\" x2=\"\(LinePlot.f(left + plotWidth))\" y1=\"\(LinePlot.f(py(tick)))\" y2=\"\(LinePlot.f(py(tick)))\" stroke=\"#e5e5e5\"/>"
            out += "<text x=\"\(Int(left - 6))\" y=\"\(LinePlot.f(py(tick) + 4))\" text-anchor=\"end\">\(LinePlot.label(tick))</text>\n"
        }
        for (c, category) in categories.enumerated() {
            let x0 = left + Double(c) * groupWidth + groupWidth * 0.1
            for (s, series) in series.enumerated() where c < series.values.count && series.values[c].isFinite {
                let value = series.values[c]
                let x = x0 + Double(s) * barWidth
                let (y, base) = (py(max(value, 0)), py(min(value, 0)))
                out += "<rect x=\"\(LinePlot.f(x))\" y=\"\(LinePlot.f(y))\" width=\"\(LinePlot.f(barWidth * 0.92))\" height=\"\(LinePlot.f(base - y))\" fill=\"\(SVGFigure.color(s))\"/>"
                out += "<text x=\"\(LinePlot.f(x + barWidth * 0.46))\" y=\"\(LinePlot.f(y - 3))\" text-anchor=\"middle\" font-size=\"9\">\(String(format: "%.2f", value))</text>\n"
            }
            out += "<text x=\"\(LinePlot.f(left + (Double(c) + 0.5) * groupWidth))\" y=\"\(LinePlot.f(top + plotHeight + 16))\" text-anchor=\"middle\">\(LinePlot.escape(category))</text>\n"
        }
        if let reference {
            out += "<line x1=\"\(Int(left))\" x2=\"\(LinePlot.f(left + plotWidth))\" y1=\"\(LinePlot.f(py(reference)))\" y2=\"\(LinePlot.f(py(reference)))\" stroke=\"#555\" stroke-dasharray=\"5,4\"/>\n"
        }
        out += "<text transform=\"translate(18 \(LinePlot.f(top + plotHeight / 2))) rotate(-90)\" text-anchor=\"middle\">\(LinePlot.escape(yLabel))</text>\n"
        for (s, series) in series.enumerated() {
            let ly = top + 14 + Double(s) * 18
            out += "<rect x=\"\(LinePlot.f(left + plotWidth + 12))\" y=\"\(LinePlot.f(ly - 9))\" width=\"12\" height=\"12\" fill=\"\(SVGFigure.color(s))\"/>"
            out += "<text x=\"\(LinePlot.f(left + plotWidth + 30))\" y=\"\(LinePlot.f(ly + 1))\">\(LinePlot.escape(series.name))</text>\n"
        }
        return out + "</svg>\n"
    }

    /// Writes the SVG atomically. Errors name the file.
    public func write(to url: URL) throws { try SVGFigure.write(svg(), to: url) }
}
