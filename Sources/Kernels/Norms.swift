/// Normalisation kernels over contiguous rows.
public enum Norms {
    /// Sum of squares of `count` floats (a multiple of 16), in a fixed order.
    @inlinable
    public static func sumOfSquares(_ x: UnsafePointer<Float>, _ count: Int) -> Float {
        var acc = SIMD16<Float>()
        var i = 0
        while i + 16 <= count {
            let v = Dot.load(x + i)
            acc = acc.addingProduct(v, v)
            i += 16
        }
        var total = Dot.horizontalSum(acc)
        while i < count {
            total += x[i] * x[i]
            i += 1
        }
        return total
    }

    /// RMS normalisation of each of `rows` rows of length `width`, in place:
    /// x <- x / sqrt(mean(x^2) + eps) * weight.
    @inlinable
    public static func rmsNorm(
        _ x: UnsafeMutablePointer<Float>, rows: Int, width: Int, weight: UnsafePointer<Float>, eps: Float
    ) {
        for r in 0..<rows {
            let row = x + r * width
            let mean = sumOfSquares(row, width) / Float(width)
            let scale = 1 / (mean + eps).squareRoot()
            for i in 0..<width { row[i] = row[i] * scale * weight[i] }
        }
    }
}
