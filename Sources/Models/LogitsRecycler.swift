/// The storage of the logits a model handed out last, taken back by the next forward pass once
/// the caller has let go of them.
///
/// A forward pass over 32 rows writes 33.5 MB of logits (262,144 per row), above glibc's 32 MiB
/// ceiling for reusing freed heap memory: every such array is a fresh mapping that the kernel
/// faults in and zeroes page by page, about 10 ms per step at 32 rows and 40 ms at 64 on the
/// 2-core VM (`ppd bench`, 2026-12-02), more than the attention of the whole step.
///
/// The returned `Logits` carry a `Lease`; while a caller holds one, its storage is not reused.
/// Reuse writes through this recycler's own array, so even a caller that kept only `values`
/// (without the `Logits`) is safe: copy-on-write gives the forward pass a fresh buffer.
struct LogitsRecycler {
    /// Held by the `Logits` a forward pass returned; unique again once they are gone.
    final class Lease: Sendable {}

    private var lease = Lease()
    private var storage: [Float] = []

    /// `count` floats that `fill` writes completely (no zeroing first), and the lease the
    /// returned `Logits` must carry.
    mutating func take(_ count: Int, fill: (UnsafeMutablePointer<Float>) -> Void) -> (values: [Float], lease: Lease) {
        var values: [Float] = []
        // Reused only while the caller holds no logits and the kept buffer is not much larger
        // than needed (a 64-row step's buffer is not kept alive for 1-row decoding).
        if isKnownUniquelyReferenced(&lease), storage.capacity >= count, storage.capacity <= 2 * count + 4096 {
            swap(&values, &storage)
        }
        storage = []
        if values.capacity >= count {
            if values.count > count { values.removeLast(values.count - count) }
            else if values.count < count { values.append(contentsOf: repeatElement(0, count: count - values.count)) }
        } else {
            values = [Float](unsafeUninitializedCapacity: count) { _, initialized in initialized = count }
        }
        if count > 0 { values.withUnsafeMutableBufferPointer { fill($0.baseAddress!) } }
        lease = Lease()
        storage = values
        return (values, lease)
    }
}
