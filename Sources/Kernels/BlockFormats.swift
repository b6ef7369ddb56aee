/// Block formats the matrix kernel decodes in registers: a block is `blockSize / 16` groups of
/// 16 elements, and `weights(block, g)` gives group g's floats, exactly the values `Dequantize`
/// writes for them (same operations in the same order: the kernel tests check it).
@usableFromInline
protocol FusedBlockFormat {
    /// Elements per block.
    static var blockSize: Int { get }
    /// Bytes per block.
    static var blockBytes: Int { get }
    /// Per-block values shared by its groups (scales), decoded once per block.
    associatedtype Scales
    /// Decodes the shared values of `block`.
    static func scales(_ block: UnsafeRawPointer) -> Scales
    /// The 16 decoded weights of group `g` of `block`, whose shared values are `scales`.
    static func weights(_ block: UnsafeRawPointer, _ scales: Scales, _ g: Int) -> SIMD16<Float>
}

@usableFromInline enum Q8_0Format: FusedBlockFormat {
    @usableFromInline static var blockSize: Int { 32 }
    @usableFromInline static var blockBytes: Int { 34 }
    @inlinable @inline(__always)
    static func scales(_ block: UnsafeRawPointer) -> Float { Dequantize.halfToFloat(block.loadUnaligned(as: UInt16.self)) }
    @inlinable @inline(__always)
    static func weights(_ block: UnsafeRawPointer, _ d: Float, _ g: Int) -> SIMD16<Float> {
        let q = Dequantize.widenSigned(block.loadUnaligned(fromByteOffset: 2 + 16 * g, as: SIMD16<Int8>.self))
        return Dequantize.toFloat(q) * d
    }
}

@usableFromInline enum Q4_0Format: FusedBlockFormat {
    @usableFromInline static var blockSize: Int { 32 }
    @usableFromInline static var blockBytes: Int { 18 }
    @inlinable @inline(__always)
    static func scales(_ block: UnsafeRawPointer) -> Float { Dequantize.halfToFloat(block.loadUnaligned(as: UInt16.self)) }
    @inlinable @inline(__always)
    static func weights(_ block: UnsafeRawPointer, _ d: Float, _ g: Int) -> SIMD16<Float> {
        let v = Dequantize.widen(block.loadUnaligned(fromByteOffset: 2, as: SIMD16<UInt8>.self))
        let nibbles = g == 0 ? v & 0x0F : v &>> 4
        return Dequantize.toFloat(nibbles &- 8) * d
    }
}

@usableFromInline enum Q5_0Format: FusedBlockFormat {
    @usableFromInline static var blockSize: Int { 32 }
    @usableFromInline static var blockBytes: Int { 22 }
    @inlinable @inline(__always)
    static func scales(_ block: UnsafeRawPointer) -> Float { Dequantize.halfToFloat(block.loadUnaligned(as: UInt16.self)) }
    @inlinable @inline(__always)
    static func weights(_ block: UnsafeRawPointer, _ d: Float, _ g: Int) -> SIMD16<Float> {
        let qh = block.loadUnaligned(fromByteOffset: 2, as: UInt32.self)
        let v = Dequantize.widen(block.loadUnaligned(fromByteOffset: 6, as: SIMD16<UInt8>.self))
        let lanes = SIMD16<Int32>(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15) &+ Int32(16 * g)
        let high = ((SIMD16<Int32>(repeating: Int32(bitPattern: qh)) &>> lanes) & 1) &<< 4
        let nibbles = g == 0 ? v & 0x0F : v &>> 4
        return Dequantize.toFloat((nibbles | high) &- 16) * d
    }
}

@usableFromInline enum Q4_KFormat: FusedBlockFormat {
    @usableFromInline static var blockSize: Int { 256 }
    @usableFromInline static var blockBytes: Int { 144 }
    /// d * scale_j and dmin * min_j of the 8 sub-blocks.
    @inlinable @inline(__always)
    static func scales(_ block: UnsafeRawPointer) -> (scale: SIMD8<Float>, min: SIMD8<Float>) {
        let d = Dequantize.halfToFloat(block.loadUnaligned(as: UInt16.self))
        let dmin = Dequantize.halfToFloat(block.loadUnaligned(fromByteOffset: 2, as: UInt16.self))
        var scale = SIMD8<Float>(), min = SIMD8<Float>()
        for j in 0..<8 {
            let (s, m) = Dequantize.scaleAndMin(block + 4, j)
            scale[j] = d * s
            min[j] = dmin * m
        }
        return (scale, min)
    }
    @inlinable @inline(__always)
    static func weights(_ block: UnsafeRawPointer, _ scales: (scale: SIMD8<Float>, min: SIMD8<Float>), _ g: Int) -> SIMD16<Float> {
        // Group g: sub-block j = g / 2 (32 elements), pair = j / 2; low nibbles for even j.
        let j = g >> 1, pair = g >> 2, half = g & 1
        let v = Dequantize.widen(block.loadUnaligned(fromByteOffset: 16 + pair * 32 + half * 16, as: SIMD16<UInt8>.self))
        let nibbles = j & 1 == 0 ? v & 0x0F : v &>> 4
        return SIMD16(repeating: scales.scale[j]) * Dequantize.toFloat(nibbles) - SIMD16(repeating: scales.min[j])
    }
}

@usableFromInline enum Q6_KFormat: FusedBlockFormat {
    @usableFromInline static var blockSize: Int { 256 }
    @usableFromInline static var blockBytes: Int { 210 }
    /// d * scale of the 16 groups.
    @inlinable @inline(__always)
    static func scales(_ block: UnsafeRawPointer) -> SIMD16<Float> {
        let d = Dequantize.halfToFloat(block.loadUnaligned(fromByteOffset: 208, as: UInt16.self))
        let sc = block.loadUnaligned(fromByteOffset: 192, as: SIMD16<Int8>.self)
        return SIMD16(repeating: d) * Dequantize.toFloat(Dequantize.widenSigned(sc))
    }
    @inlinable @inline(__always)
    static func weights(_ block: UnsafeRawPointer, _ scales: SIMD16<Float>, _ g: Int) -> SIMD16<Float> {
        // Group g: half = g / 8, quarter = (g % 8) / 2 selects nibble and bit pair, part = g % 2;
        // its scale is scales[g].
        let half = g >> 3, quarter = (g & 7) >> 1, part = g & 1
        let low = Dequantize.widen(
            block.loadUnaligned(fromByteOffset: half * 64 + (quarter & 1) * 32 + part * 16, as: SIMD16<UInt8>.self))
        let high = Dequantize.widen(block.loadUnaligned(fromByteOffset: 128 + half * 32 + part * 16, as: SIMD16<UInt8>.self))
        let nibble = quarter < 2 ? low & 0x0F : low &>> 4
        let bits = (high &>> Int32(2 * quarter)) & 3
        return Dequantize.toFloat((nibble | (bits &<< 4)) &- 32) * SIMD16(repeating: scales[g])
    }
}
