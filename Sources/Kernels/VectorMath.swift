/// Vectorised elementary functions with a fixed evaluation order (so results are reproducible
/// bit for bit), accurate to a few float ulps.
public enum VectorMath {
    /// e^x for each lane: x = k ln2 + r with |r| <= ln2/2 (Cody-Waite split of ln2), e^r by a
    /// degree-6 Taylor polynomial in Horner form, times 2^k built in the exponent bits.
    /// Inputs are clamped to [-87, 88] (results stay finite and normal); NaN lanes give 1.
    @inlinable @inline(__always)
    public static func exp(_ x: SIMD16<Float>) -> SIMD16<Float> {
        var clamped = x
        clamped.replace(with: 0, where: clamped .!= clamped)  // NaN: keep the integer conversion defined
        clamped.replace(with: -87, where: clamped .< -87)
        clamped.replace(with: 88, where: clamped .> 88)
        let k = (clamped * 1.442_695_04).rounded(.toNearestOrEven)
        let r = clamped - k * 0.693_145_75 - k * 1.428_606_8e-6
        var p = SIMD16<Float>(repeating: 1.0 / 720)
        p = p * r + 1.0 / 120
        p = p * r + 1.0 / 24
        p = p * r + 1.0 / 6
        p = p * r + 0.5
        p = p * r + 1
        p = p * r + 1
        // 2^k from the exponent bits: k + 127 is an integer in [1, 254], which adding 1.5 * 2^23
        // places in the low mantissa bits (the 0x4B400000 trick; per-lane Int32(k[i])
        // conversions compile to scalar code).
        let biased = unsafeBitCast(k + (12_582_912 + 127), to: SIMD16<Int32>.self) &- 0x4B40_0000
        return p * unsafeBitCast(biased &<< 23, to: SIMD16<Float>.self)
    }

    /// tanh for each lane, as 1 - 2 / (e^(2x) + 1) (exact limits +-1 for large |x|).
    @inlinable @inline(__always)
    public static func tanh(_ x: SIMD16<Float>) -> SIMD16<Float> {
        1 - 2 / (exp(2 * x) + 1)
    }
}
