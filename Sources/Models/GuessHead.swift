import Kernels

/// The output layer restricted to a subset of the vocabulary, for rows whose logits only
/// *propose* tokens (the rows of prompt tokens in parallel prompt decoding) and never decide one.
///
/// The output layer is most of a row's work in a small model (Gemma 3 270M: 168M of its 268M
/// multiply-adds per row go to the 262,144-token vocabulary), and a guess outside the tokens a
/// model actually writes is almost never right. A guess row costs `tokens.count / vocabSize` of
/// the output layer.
///
/// With int8 arithmetic the head holds no weights of its own: the output layer's repacked rows
/// are reordered once so that the head's tokens come first (`Int8Matrix.moveToFront`), and the
/// head computes those leading rows (a second head over other tokens, on the same model, copies
/// its rows). With float arithmetic it holds a copy of the encoded rows.
///
/// Each logit of a guess row is the same dot product, in the same order, with the same kernel,
/// as the full output layer computes: bitwise the full layer's value for that token.
public final class GuessHead: @unchecked Sendable {
    /// The vocabulary of the head: token ids, ascending, distinct.
    public let tokens: [Int32]
    /// Size of the full vocabulary.
    public let vocabSize: Int
    /// Width of the output layer's input (the model's hidden size).
    public let columns: Int
    /// Where the head's rows are.
    private let source: Source

    private enum Source {
        /// Packed rows `0..<tokens.count` of a repacked matrix hold the head's tokens in order:
        /// the output layer's own (reordered), or a copy.
        case packed(Int8Matrix)
        /// A copy of the encoded rows (float arithmetic), freed with the head.
        case encoded(QuantizedMatrix, storage: UnsafeMutableRawPointer)
    }

    /// The head over `tokens` (any order; duplicates are dropped) of the output layer `output`.
    /// Throws when a token is outside `0..<output.rows` or the list is empty. Copies rows only
    /// where the output layer's repacked rows cannot be reordered for it; a copy reads the
    /// encoded rows in ascending order, and `consumed` is given the bytes already passed from time
    /// to time (so that mapped pages can be released behind the gather).
    init(output: QuantizedMatrix, tokens: [Int32], consumed: ((UnsafeRawPointer, Int) -> Void)? = nil) throws {
        let sorted = Array(Set(tokens)).sorted()
        guard let first = sorted.first, let last = sorted.last else {
            throw ModelError("guess head: the vocabulary is empty")
        }
        guard first >= 0, Int(last) < output.rows else {
            throw ModelError("guess head: token id \(first < 0 ? first : last) is outside the vocabulary (0..<\(output.rows))")
        }
        self.tokens = sorted
        self.vocabSize = output.rows
        self.columns = output.columns
        if let packed = output.int8, packed.moveToFront(sorted) {
            source = .packed(packed)
            return
        }
        let (copy, storage) = Self.copyRows(sorted, of: output, consumed: consumed)
        if output.int8 != nil, let packed = copy.computing(with: .int8).int8 {
            storage.deallocate()  // the products read the repacked copy only
            source = .packed(packed)
        } else {
            source = .encoded(copy.computing(with: .float32), storage: storage)
        }
    }

    /// The encoded rows of `output` for `sorted`, padded to whole groups of 4 rows (the int8
    /// kernels' unit) with the last token's row.
    private static func copyRows(
        _ sorted: [Int32], of output: QuantizedMatrix, consumed: ((UnsafeRawPointer, Int) -> Void)?
    ) -> (QuantizedMatrix, UnsafeMutableRawPointer) {
        let rowBytes = output.rowBytes
        let stored = (sorted.count + 3) / 4 * 4
        let storage = UnsafeMutableRawPointer.allocate(byteCount: stored * rowBytes, alignment: 64)
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
        return (QuantizedMatrix(data: UnsafeRawPointer(storage), type: output.type, rows: stored, columns: output.columns), storage)
    }

    /// The copied encoded rows (float arithmetic), which training differentiates; nil when the
    /// head computes from repacked rows.
    var encodedRows: QuantizedMatrix? {
        if case .encoded(let matrix, _) = source { return matrix }
        return nil
    }

    deinit {
        if case .encoded(_, let storage) = source { storage.deallocate() }
    }

    /// Bytes the head holds beyond the model: its copy of rows (0 when it shares the output
    /// layer's repacked rows) and its token list.
    public var addedBytes: Int {
        let list = tokens.count * MemoryLayout<Int32>.size
        switch source {
        case .packed(let matrix):
            // Shared rows: the output layer's row order (Int32 per row) is the head's cost.
            return list + (matrix.frontRows == tokens ? matrix.rows * MemoryLayout<Int32>.size : matrix.byteCount)
        case .encoded(let matrix, _): return list + matrix.rows * matrix.rowBytes
        }
    }

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

    /// The head's logits of the normalised rows `x` (count x columns): row i's logit of
    /// `tokens[t]` at `y[i * outputStride + t]`.
    func multiply(_ x: UnsafePointer<Float>, count: Int, into y: UnsafeMutablePointer<Float>, outputStride: Int, pool: ThreadPool) {
        switch source {
        case .packed(let matrix):
            let input = matrix.quantize(x, count: count)
            matrix.multiplyPacked(input, into: y, outputStride: outputStride, packedRows: 0..<tokens.count, pool: pool)
        case .encoded(let matrix, _):
            matrix.multiply(x, count: count, into: y, outputStride: outputStride, rowRange: 0..<tokens.count, pool: pool)
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
        // The first int8 head reorders the output layer's repacked rows: no forward may run meanwhile.
        // A copy's gather faults in (with read-around) most pages of the mapped output matrix;
        // where the full layer computes from a repacked copy, they are given back behind the gather.
        let output = weights.output, file = self.file
        return try exclusively {
            try GuessHead(output: output, tokens: tokens, consumed: output.int8 == nil ? nil : { file.releasePages(start: $0, count: $1) })
        }
    }
}
