/// Block decoders: turn `count` elements of a tensor row in `type`'s encoding into floats.
///
/// These are the only decoders in the project: the matrix kernels, embedding lookups and the
/// GGUF tests all go through them, so a tensor element has one float value everywhere. The lane
/// loops are written so that LLVM turns them into vector widening and conversion instructions
/// (checked in the disassembly: `vpmovsxbd` + `vcvtdq2ps` for Q8_0).
public enum Dequantize {
    /// Decodes `count` elements (a multiple of `type.blockSize`) from `source` into `destination`.
    @inlinable
    public static func row(
        _ type: TensorType, from source: UnsafeRawPointer, count: Int, into destination: UnsafeMutablePointer<Float>
    ) {
        let blocks = count / type.blockSize
        switch type {
        case .f32:
            destination.update(from: source.assumingMemoryBound(to: Float.self), count: count)
        case .f16:
            for i in 0..<count { destination[i] = halfToFloat(source.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self)) }
        case .bf16:
            for i in 0..<count {
                let bits = UInt32(source.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self)) << 16
                destination[i] = Float(bitPattern: bits)
            }
        case .q8_0:
            for b in 0..<blocks { q8_0(source + b * 34, destination + b * 32) }
        case .q4_0:
            for b in 0..<blocks { q4_0(source + b * 18, destination + b * 32) }
        case .q4_1:
            for b in 0..<blocks { q4_1(source + b * 20, destination + b * 32) }
        case .q5_0:
            for b in 0..<blocks { q5_0(source + b * 22, destination + b * 32) }
        case .q5_1:
            for b in 0..<blocks { q5_1(source + b * 24, destination + b * 32) }
        case .q4_K:
            for b in 0..<blocks { q4_K(source + b * 144, destination + b * 256) }
        case .q5_K:
            for b in 0..<blocks { q5_K(source + b * 176, destination + b * 256) }
        case .q6_K:
            for b in 0..<blocks { q6_K(source + b * 210, destination + b * 256) }
        }
    }

    /// IEEE half (binary16) bits to Float.
    @inlinable @inline(__always)
    public static func halfToFloat(_ bits: UInt16) -> Float { Float(Float16(bitPattern: bits)) }

    // MARK: 32-element blocks

    /// Q8_0: `d: f16, q: int8[32]`; x = d * q.
    @inlinable @inline(__always)
    static func q8_0(_ block: UnsafeRawPointer, _ out: UnsafeMutablePointer<Float>) {
        let d = SIMD16<Float>(repeating: halfToFloat(block.loadUnaligned(as: UInt16.self)))
        store(toFloat(widenSigned(block.loadUnaligned(fromByteOffset: 2, as: SIMD16<Int8>.self))) * d, out)
        store(toFloat(widenSigned(block.loadUnaligned(fromByteOffset: 18, as: SIMD16<Int8>.self))) * d, out + 16)
    }

    /// Q4_0: `d: f16, qs: u8[16]`; x[j] = d * (low nibble - 8), x[j + 16] = d * (high nibble - 8).
    @inlinable @inline(__always)
    static func q4_0(_ block: UnsafeRawPointer, _ out: UnsafeMutablePointer<Float>) {
        let d = SIMD16<Float>(repeating: halfToFloat(block.loadUnaligned(as: UInt16.self)))
        let q = widen(block.loadUnaligned(fromByteOffset: 2, as: SIMD16<UInt8>.self))
        store(toFloat((q & 0x0F) &- 8) * d, out)
        store(toFloat((q &>> 4) &- 8) * d, out + 16)
    }

    /// Q4_1: `d: f16, m: f16, qs: u8[16]`; x = d * nibble + m.
    @inlinable @inline(__always)
    static func q4_1(_ block: UnsafeRawPointer, _ out: UnsafeMutablePointer<Float>) {
        let d = SIMD16<Float>(repeating: halfToFloat(block.loadUnaligned(as: UInt16.self)))
        let m = SIMD16<Float>(repeating: halfToFloat(block.loadUnaligned(fromByteOffset: 2, as: UInt16.self)))
        let q = widen(block.loadUnaligned(fromByteOffset: 4, as: SIMD16<UInt8>.self))
        store(toFloat(q & 0x0F) * d + m, out)
        store(toFloat(q &>> 4) * d + m, out + 16)
    }

    /// The fifth bits of a Q5 block: element j (0..<32) takes bit j of `qh`, moved to bit 4.
    @inlinable @inline(__always)
    static func fifthBits(_ qh: UInt32) -> (low: SIMD16<Int32>, high: SIMD16<Int32>) {
        let lanes = SIMD16<Int32>(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15)
        let bits = SIMD16<Int32>(repeating: Int32(bitPattern: qh))
        let low = ((bits &>> lanes) & 1) &<< 4
        let high = ((bits &>> (lanes &+ 16)) & 1) &<< 4
        return (low, high)
    }

    /// Q5_0: `d: f16, qh: u32, qs: u8[16]`; element j's fifth bit is bit j of qh;
    /// x = d * (5-bit value - 16).
    @inlinable @inline(__always)
    static func q5_0(_ block: UnsafeRawPointer, _ out: UnsafeMutablePointer<Float>) {
        let d = SIMD16<Float>(repeating: halfToFloat(block.loadUnaligned(as: UInt16.self)))
        let (highLow, highHigh) = fifthBits(block.loadUnaligned(fromByteOffset: 2, as: UInt32.self))
        let q = widen(block.loadUnaligned(fromByteOffset: 6, as: SIMD16<UInt8>.self))
        store(toFloat(((q & 0x0F) | highLow) &- 16) * d, out)
        store(toFloat(((q &>> 4) | highHigh) &- 16) * d, out + 16)
    }

    /// Q5_1: `d: f16, m: f16, qh: u32, qs: u8[16]`; x = d * (5-bit value) + m.
    @inlinable @inline(__always)
    static func q5_1(_ block: UnsafeRawPointer, _ out: UnsafeMutablePointer<Float>) {
        let d = SIMD16<Float>(repeating: halfToFloat(block.loadUnaligned(as: UInt16.self)))
        let m = SIMD16<Float>(repeating: halfToFloat(block.loadUnaligned(fromByteOffset: 2, as: UInt16.self)))
        let (highLow, highHigh) = fifthBits(block.loadUnaligned(fromByteOffset: 4, as: UInt32.self))
        let q = widen(block.loadUnaligned(fromByteOffset: 8, as: SIMD16<UInt8>.self))
        store(toFloat((q & 0x0F) | highLow) * d + m, out)
        store(toFloat((q &>> 4) | highHigh) * d + m, out + 16)
    }

    /// Zero-extends 16 bytes to 32-bit lanes (a lane loop that LLVM turns into `vpmovzxbd`).
    @inlinable @inline(__always)
    static func widen(_ v: SIMD16<UInt8>) -> SIMD16<Int32> {
        var r = SIMD16<Int32>()
        for i in 0..<16 { r[i] = Int32(v[i]) }
        return r
    }

    /// Sign-extends 16 bytes to 32-bit lanes (`vpmovsxbd`).
    @inlinable @inline(__always)
    static func widenSigned(_ v: SIMD16<Int8>) -> SIMD16<Int32> {
        var r = SIMD16<Int32>()
        for i in 0..<16 { r[i] = Int32(v[i]) }
        return r
    }

    /// Converts 32-bit integer lanes to floats (a lane loop that LLVM turns into `vcvtdq2ps`).
    @inlinable @inline(__always)
    static func toFloat(_ v: SIMD16<Int32>) -> SIMD16<Float> {
        var r = SIMD16<Float>()
        for i in 0..<16 { r[i] = Float(v[i]) }
        return r
    }

    // MARK: 256-element super-blocks (k-quants)

    /// The 6-bit scale and min of sub-block `j` (0..<8) of a Q4_K / Q5_K super-block.
    @inlinable @inline(__always)
    static func scaleAndMin(_ scales: UnsafeRawPointer, _ j: Int) -> (scale: Float, min: Float) {
        let q = scales.assumingMemoryBound(to: UInt8.self)
        if j < 4 {
            return (Float(q[j] & 63), Float(q[j + 4] & 63))
        }
        let scale = (q[j + 4] & 0x0F) | ((q[j - 4] >> 6) << 4)
        let min = (q[j + 4] >> 4) | ((q[j] >> 6) << 4)
        return (Float(scale), Float(min))
    }

    /// Q4_K: 8 sub-blocks of 32; x = d * scale_j * nibble - dmin * min_j. Sub-blocks 2i and 2i+1
    /// share 32 bytes: low nibbles for 2i, high nibbles for 2i+1.
    @inlinable @inline(__always)
    static func q4_K(_ block: UnsafeRawPointer, _ out: UnsafeMutablePointer<Float>) {
        let d = halfToFloat(block.loadUnaligned(as: UInt16.self))
        let dmin = halfToFloat(block.loadUnaligned(fromByteOffset: 2, as: UInt16.self))
        let scales = block + 4
        let qs = block + 16
        for pair in 0..<4 {
            let (s1, m1) = scaleAndMin(scales, 2 * pair)
            let (s2, m2) = scaleAndMin(scales, 2 * pair + 1)
            let d1 = SIMD16<Float>(repeating: d * s1), min1 = SIMD16<Float>(repeating: dmin * m1)
            let d2 = SIMD16<Float>(repeating: d * s2), min2 = SIMD16<Float>(repeating: dmin * m2)
            for half in 0..<2 {
                let q = widen(qs.loadUnaligned(fromByteOffset: pair * 32 + half * 16, as: SIMD16<UInt8>.self))
                store(d1 * toFloat(q & 0x0F) - min1, out + pair * 64 + half * 16)
                store(d2 * toFloat(q &>> 4) - min2, out + pair * 64 + 32 + half * 16)
            }
        }
    }

    /// Q5_K: as Q4_K with a fifth bit per element from `qh` (bit 2i for sub-block 2i, bit 2i+1
    /// for sub-block 2i+1, of byte l for element l of the sub-block).
    @inlinable @inline(__always)
    static func q5_K(_ block: UnsafeRawPointer, _ out: UnsafeMutablePointer<Float>) {
        let d = halfToFloat(block.loadUnaligned(as: UInt16.self))
        let dmin = halfToFloat(block.loadUnaligned(fromByteOffset: 2, as: UInt16.self))
        let scales = block + 4
        let qh = block + 16
        let qs = block + 48
        for pair in 0..<4 {
            let (s1, m1) = scaleAndMin(scales, 2 * pair)
            let (s2, m2) = scaleAndMin(scales, 2 * pair + 1)
            let d1 = SIMD16<Float>(repeating: d * s1), min1 = SIMD16<Float>(repeating: dmin * m1)
            let d2 = SIMD16<Float>(repeating: d * s2), min2 = SIMD16<Float>(repeating: dmin * m2)
            let shiftLo = Int32(2 * pair), shiftHi = Int32(2 * pair + 1)
            for half in 0..<2 {
                let q = widen(qs.loadUnaligned(fromByteOffset: pair * 32 + half * 16, as: SIMD16<UInt8>.self))
                let h = widen(qh.loadUnaligned(fromByteOffset: half * 16, as: SIMD16<UInt8>.self))
                let lo = (q & 0x0F) | (((h &>> shiftLo) & 1) &<< 4)
                let hi = (q &>> 4) | (((h &>> shiftHi) & 1) &<< 4)
                store(d1 * toFloat(lo) - min1, out + pair * 64 + half * 16)
                store(d2 * toFloat(hi) - min2, out + pair * 64 + 32 + half * 16)
            }
        }
    }

    /// Q6_K: two halves of 128; in each, element l (0..<32) of the four quarters takes its low four
    /// bits from `ql` (bytes l and l+32, low then high nibbles) and two high bits from `qh[l]`;
    /// x = d * scale[16-element group] * (6-bit value - 32).
    @inlinable @inline(__always)
    static func q6_K(_ block: UnsafeRawPointer, _ out: UnsafeMutablePointer<Float>) {
        let d = halfToFloat(block.loadUnaligned(fromByteOffset: 208, as: UInt16.self))
        let scales = (block + 192).assumingMemoryBound(to: Int8.self)
        for half in 0..<2 {
            let ql = block + half * 64
            let qh = block + 128 + half * 32
            let sc = scales + half * 8
            for part in 0..<2 {  // elements l = 16 * part ..< 16 * part + 16
                let low0 = widen(ql.loadUnaligned(fromByteOffset: part * 16, as: SIMD16<UInt8>.self))
                let low1 = widen(ql.loadUnaligned(fromByteOffset: 32 + part * 16, as: SIMD16<UInt8>.self))
                let high = widen(qh.loadUnaligned(fromByteOffset: part * 16, as: SIMD16<UInt8>.self))
                let q1 = toFloat(((low0 & 0x0F) | ((high & 3) &<< 4)) &- 32)
                let q2 = toFloat(((low1 & 0x0F) | (((high &>> 2) & 3) &<< 4)) &- 32)
                let q3 = toFloat(((low0 &>> 4) | (((high &>> 4) & 3) &<< 4)) &- 32)
                let q4 = toFloat(((low1 &>> 4) | (((high &>> 6) & 3) &<< 4)) &- 32)
                let base = out + half * 128 + part * 16
                store(q1 * SIMD16(repeating: d * Float(sc[part + 0])), base)
                store(q2 * SIMD16(repeating: d * Float(sc[part + 2])), base + 32)
                store(q3 * SIMD16(repeating: d * Float(sc[part + 4])), base + 64)
                store(q4 * SIMD16(repeating: d * Float(sc[part + 6])), base + 96)
            }
        }
    }

    @inlinable @inline(__always)
    static func store(_ v: SIMD16<Float>, _ p: UnsafeMutablePointer<Float>) {
        UnsafeMutableRawPointer(p).storeBytes(of: v, as: SIMD16<Float>.self)
    }
}
