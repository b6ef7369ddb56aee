/// The texts of all tokens as UTF-8 bytes in one buffer, with an open-addressing hash index from
/// bytes to token id.
///
/// Lookups compare bytes, never `String`s: Swift's `String ==` treats canonically equivalent
/// texts ("é" precomposed and "e" + combining accent) as equal, while a vocabulary may hold both
/// as different tokens, and llama.cpp tells them apart.
struct TokenTable: Sendable {
    /// The UTF-8 bytes of all tokens, back to back.
    let bytes: [UInt8]
    /// Token `i` is `bytes[offsets[i] ..< offsets[i + 1]]`.
    let offsets: [Int32]
    /// Hash slots holding token ids, -1 when empty; the count is a power of two.
    private let slots: [Int32]
    private let hashes: [UInt32]

    /// Index of `texts`; when a text appears twice, returns the first repeated id instead.
    static func build(_ texts: [String]) -> (table: TokenTable, duplicate: Int?) {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(texts.count * 8)
        var offsets: [Int32] = [0]
        offsets.reserveCapacity(texts.count + 1)
        for text in texts {
            bytes.append(contentsOf: text.utf8)
            offsets.append(Int32(bytes.count))
        }
        var capacity = 16
        while capacity < texts.count * 2 { capacity <<= 1 }
        var slots = [Int32](repeating: -1, count: capacity)
        var hashes = [UInt32](repeating: 0, count: texts.count)
        var duplicate: Int?
        bytes.withUnsafeBufferPointer { all in
            let base = all.baseAddress!
            let mask = capacity - 1
            for id in 0..<texts.count {
                let start = Int(offsets[id])
                let length = Int(offsets[id + 1]) - start
                let hash = TokenTable.hash(base + start, length)
                hashes[id] = hash
                var slot = Int(hash) & mask
                while slots[slot] >= 0 {
                    let other = Int(slots[slot])
                    if hashes[other] == hash, Int(offsets[other + 1] - offsets[other]) == length,
                        TokenTable.equal(base + Int(offsets[other]), base + start, length)
                    {
                        if duplicate == nil { duplicate = id }
                        break
                    }
                    slot = (slot + 1) & mask
                }
                if slots[slot] < 0 { slots[slot] = Int32(id) }
            }
        }
        return (TokenTable(bytes: bytes, offsets: offsets, slots: slots, hashes: hashes), duplicate)
    }

    private init(bytes: [UInt8], offsets: [Int32], slots: [Int32], hashes: [UInt32]) {
        self.bytes = bytes
        self.offsets = offsets
        self.slots = slots
        self.hashes = hashes
    }

    /// The id of the token whose text is exactly `length` bytes at `text`, or nil.
    @inline(__always)
    func id(_ text: UnsafePointer<UInt8>, _ length: Int) -> Int32? {
        let hash = TokenTable.hash(text, length)
        return slots.withUnsafeBufferPointer { slots in
            bytes.withUnsafeBufferPointer { all in
                let mask = slots.count - 1
                var slot = Int(hash) & mask
                while true {
                    let id = slots[slot]
                    if id < 0 { return nil }
                    let start = Int(offsets[Int(id)])
                    if hashes[Int(id)] == hash, Int(offsets[Int(id) + 1]) - start == length,
                        TokenTable.equal(all.baseAddress! + start, text, length)
                    {
                        return id
                    }
                    slot = (slot + 1) & mask
                }
            }
        }
    }

    /// The id of the token whose UTF-8 text is `text`, or nil.
    func id(_ text: some Collection<UInt8>) -> Int32? {
        let array = Array(text)
        return array.withUnsafeBufferPointer { buffer in
            guard let base = buffer.baseAddress else { return nil }  // no token is empty
            return id(base, buffer.count)
        }
    }

    /// The bytes of token `id`.
    @inline(__always)
    func range(of id: Int) -> Range<Int> { Int(offsets[id])..<Int(offsets[id + 1]) }

    /// FNV-1a over the bytes, folded to 32 bits.
    @inline(__always)
    static func hash(_ text: UnsafePointer<UInt8>, _ length: Int) -> UInt32 {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for i in 0..<length {
            h = (h ^ UInt64(text[i])) &* 0x0000_0100_0000_01b3
        }
        return UInt32(truncatingIfNeeded: h ^ (h >> 32))
    }

    @inline(__always)
    private static func equal(_ a: UnsafePointer<UInt8>, _ b: UnsafePointer<UInt8>, _ length: Int) -> Bool {
        for i in 0..<length where a[i] != b[i] { return false }
        return true
    }
}
