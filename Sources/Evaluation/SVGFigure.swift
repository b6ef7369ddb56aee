import Foundation

/// What the SVG figures (`LinePlot`, `HeatMap`, `BarChart`) share: the opening with title and
/// caption, and writing the file.
enum SVGFigure {
    /// Series colours, in order (cycled).
    static let palette = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2", "#17becf", "#7f7f7f"]

    /// The colour of series `index`.
    static func color(_ index: Int) -> String { palette[index % palette.count] }

    /// The opening of a figure of `width` x `height`: the root element, a white background, the
    /// title and the caption (centred), ending with a newline.
    static func header(width: Double, height: Double, title: String, caption: String, fontSize: Int = 12) -> String {
        """
        <svg xmlns="http://www.w3.org/2000/svg" width="\(Int(width))" height="\(Int(height))" \
        viewBox="0 0 \(Int(width)) \(Int(height))" font-family="sans-serif" font-size="\(fontSize)">
        <rect width="100%" height="100%" fill="white"/>
        <text x="\(Int(width / 2))" y="22" text-anchor="middle" font-size="15" font-weight="bold">\(LinePlot.escape(title))</text>
        <text x="\(Int(width / 2))" y="40" text-anchor="middle" font-size="10" fill="#555">\(LinePlot.escape(caption))</text>

        """
    }

    /// Writes `svg` to `url` atomically (a temporary file, then a rename); errors name the file.
    static func write(_ svg: String, to url: URL) throws {
        do {
            try Data(svg.utf8).write(to: url, options: .atomic)
        } catch {
            throw EvaluationError(file: url.path, "cannot write the figure: \(error.localizedDescription)")
        }
    }
}
