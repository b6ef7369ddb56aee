import Foundation

/// Writing the SVG figures (`LinePlot`, `HeatMap`).
enum SVGFigure {
    /// Writes `svg` to `url` atomically (a temporary file, then a rename); errors name the file.
    static func write(_ svg: String, to url: URL) throws {
        do {
            try Data(svg.utf8).write(to: url, options: .atomic)
        } catch {
            throw EvaluationError(file: url.path, "cannot write the figure: \(error.localizedDescription)")
        }
    }
}
