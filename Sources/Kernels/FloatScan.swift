import CKernelSupport

/// Scans of float rows in vector registers (`PPDFloatScan.h`: AVX-512, AVX2 or a scalar loop,
/// all with the scalar loop's answer). Swift's `any()` of a SIMD comparison lowered to a
/// per-lane loop, which made these scans a tenth of a 7-row greedy verification step.
public enum FloatScan {
    /// The largest of the `count` values at `values` that is not NaN; -infinity when there is none.
    public static func max(_ values: UnsafePointer<Float>, count: Int) -> Float {
        ppd_f32_max(values, count)
    }

    /// The first index in `start ..< count` whose value equals `value`, or `count`.
    public static func firstIndex(of value: Float, in values: UnsafePointer<Float>, from start: Int = 0, count: Int) -> Int {
        ppd_f32_find_equal(values, start, count, value)
    }

    /// The first index in `start ..< count` whose value is larger than `value`, or `count`.
    public static func firstIndex(above value: Float, in values: UnsafePointer<Float>, from start: Int = 0, count: Int) -> Int {
        ppd_f32_find_above(values, start, count, value)
    }

    /// The index of the first largest of the `count` values (the scalar scan's answer: the
    /// first value that no later one exceeds; NaN never wins, except at index 0, where the scan
    /// starts). 0 for no values.
    public static func argmax(_ values: UnsafePointer<Float>, count: Int) -> Int {
        guard count > 0, !values[0].isNaN else { return 0 }
        return firstIndex(of: max(values, count: count), in: values, count: count)
    }
}
