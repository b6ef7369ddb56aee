import Kernels

/// The output layer restricted to a subset of the vocabulary, for rows whose logits only
/// *propose* tokens (the rows of prompt tokens in parallel prompt decoding) and never decide one.
///
/// The output layer is most of a row's work in a small model (Gemma 3 270M: 168M of its 268M
/// multiply-adds per row go to the 262,144-token vocabulary), and a guess outside the tokens a
/// model actually writes is almost never right. A guess head holds a copy of the output matrix's
/// rows for `tokens` only, so a guess row costs `tokens.count / vocabSize` of the output layer.
///
/// Each logit of a guess row is the same dot product, in the same order, with the same kernel,
/// as the full output layer computes: bitwise the full layer's value for that token. Tokens
/// outside the head get -infinity.
public final class GuessHead: @unchecked Sendable {
    /// The vocabulary of the head: token ids, ascending, distinct.
    public let tokens: [Int32]
    /// Size of the full vocabulary.
    public let vocabSize: Int
    /// The gathered rows of the output matrix, in `tokens` order.
    let matrix: QuantizedMatrix
    private let storage: UnsafeMutableRawPointer

    /// Copies the rows of `output` named by `tokens` (any order; duplicates are dropped).
    /// Throws when a token is outside `0..<output.rows` or the list is empty. The rows are read
    /// in ascending order; `consumed` is given the encoded bytes already passed, from time to time
    /// (so that mapped pages can be released behind the gather).
    init(output: QuantizedMatrix, tokens: [Int32], consumed: ((UnsafeRawPointer, Int) -> Void)? = nil) throws {
        let sorted = Array(Set(tokens)).sorted()
        guard let first = sorted.first, let last = sorted.last else {
            throw ModelError("guess head: the vocabulary is empty")
        }
        guard first >= 0, Int(last) < output.rows else {
            throw ModelError("guess head: token id \(first < 0 ? first : last) is outside the vocabulary (0..<\(output.rows))")
        }
        let rowBytes = output.rowBytes
        // Whole groups of 4 rows (the int8 kernels' unit): the last token's row fills the gap.
        let stored = (sorted.count + 3) / 4 * 4
        storage = UnsafeMutableRawPointer.allocate(byteCount: stored * rowBytes, alignment: 64)
        var passed = 0
        for i in 0..<stored {
            let token = Int(sorted[min(i, sorted.count - 1)])
            storage.advanced(by: i * rowBytes).copyMemory(from: output.data + token * rowBytes, byteCount: rowBytes)
            if let consumed, i % 256 == 255 || i == stored - 1 {
                let end = i == stored - 1 ? output.rows * rowBytes : token * rowBytes
                if end > passed { consumed(output.data + passed, end - passed) }
                passed = end
            }
        }
        self.tokens = sorted
        self.vocabSize = output.rows
        // The head computes as the output layer does, so its logits are bitwise the full layer's.
        matrix = QuantizedMatrix(data: UnsafeRawPointer(storage), type: output.type, rows: stored, columns: output.columns)
            .computing(with: output.int8 == nil ? .float32 : .int8)
    }

    deinit { storage.deallocate() }

    /// The position of `token` in `tokens` (the head's compact order), or nil when the head
    /// does not hold it.
    public func index(of token: Int32) -> Int? {
        var low = 0, high = tokens.count
        while low < high {
            let mid = (low + high) / 2
            if tokens[mid] < token { low = mid + 1 } else { high = mid }
        }
        return low < tokens.count && tokens[low] == token ? low : nil
    }

    /// Fraction of the full output layer's work that one guess row costs.
    public var relativeCost: Double { Double(tokens.count) / Double(vocabSize) }

    /// Full-vocabulary logits of the normalised rows `x` (rows.count x columns), row i written
    /// to `rows[i]` (vocabSize floats each): the head's tokens get their logits, all others
    /// -infinity.
    func logits(_ x: [Float], into rows: [UnsafeMutablePointer<Float>], pool: ThreadPool) {
        let k = tokens.count
        var compact = [Float](repeating: 0, count: rows.count * k)  // small: rows x head tokens
        x.withUnsafeBufferPointer { xb in
            compact.withUnsafeMutableBufferPointer { cb in
                matrix.multiply(
                    xb.baseAddress!, count: rows.count, into: cb.baseAddress!, outputStride: k, rowRange: 0..<k, pool: pool)
                tokens.withUnsafeBufferPointer { ids in
                    for (i, out) in rows.enumerated() {
                        out.update(repeating: -.infinity, count: vocabSize)
                        let values = cb.baseAddress! + i * k
                        for j in 0..<k { out[Int(ids[j])] = values[j] }
                    }
                }
            }
        }
    }
}

/// Rows of a forward batch whose logits come from a guess head instead of the full output layer.
public struct GuessRows: Sendable {
    public let head: GuessHead
    /// Batch indices; each must also be a logit row of the forward.
    public let rows: [Int]

    public init(head: GuessHead, rows: [Int]) {
        self.head = head
        self.rows = rows
    }
}

extension Transformer {
    /// A guess head over `tokens` of this model's output layer (see `GuessHead`).
    public func makeGuessHead(tokens: [Int32]) throws -> GuessHead {
        // Gathering the rows faults in (with read-around) most pages of the mapped output matrix;
        // where the full layer computes from a repacked copy, they are given back behind the gather.
        let output = weights.output, file = self.file
        return try GuessHead(output: output, tokens: tokens, consumed: output.int8 == nil ? nil : { file.releasePages(start: $0, count: $1) })
    }
}
