import Foundation

// Input gradients of the forward kernels, for training prompt tokens through a frozen model.
// Weights are constants: no weight gradients. Sums run in Float in a fixed order.

extension Norms {
    /// Input gradient of `rmsNorm`: with y = x * r * w and r = 1 / sqrt(mean(x^2) + eps) per row,
    /// dx_i = r * w_i * dy_i - x_i * r^3 / width * sum_j x_j * w_j * dy_j. Overwrites `dx`.
    public static func rmsNormBackward(
        input x: UnsafePointer<Float>, gradOutput dy: UnsafePointer<Float>, gradInput dx: UnsafeMutablePointer<Float>,
        rows: Int, width: Int, weight: UnsafePointer<Float>, eps: Float
    ) {
        for row in 0..<rows {
            let xr = x + row * width, dyr = dy + row * width, dxr = dx + row * width
            let r = 1 / (sumOfSquares(xr, width) / Float(width) + eps).squareRoot()
            var dot: Float = 0
            for i in 0..<width { dot += xr[i] * weight[i] * dyr[i] }
            let k = r * r * r * dot / Float(width)
            for i in 0..<width { dxr[i] = r * weight[i] * dyr[i] - xr[i] * k }
        }
    }
}

extension Activations {
    /// Input gradients of `geluTanhGate` (out = gelu_tanh(g) * u) from the pre-activation `g`,
    /// `u` and d out: dg = d out * u * gelu'(g), du = d out * gelu(g), where with
    /// t = tanh(c (g + 0.044715 g^3)), gelu'(g) = 0.5 (1 + t) + 0.5 g (1 - t^2) c (1 + 3 * 0.044715 g^2).
    public static func geluTanhGateBackward(
        gate g: UnsafePointer<Float>, up u: UnsafePointer<Float>, gradOutput: UnsafePointer<Float>,
        gradGate: UnsafeMutablePointer<Float>, gradUp: UnsafeMutablePointer<Float>, count: Int
    ) {
        let c: Float = 0.797_884_56
        for i in 0..<count {
            let x = g[i]
            let t = tanhf(c * (x + 0.044715 * x * x * x))
            let gelu = 0.5 * x * (1 + t)
            let derivative = 0.5 * (1 + t) + 0.5 * x * (1 - t * t) * c * (1 + 3 * 0.044715 * x * x)
            gradGate[i] = gradOutput[i] * u[i] * derivative
            gradUp[i] = gradOutput[i] * gelu
        }
    }

    /// Input gradients of `siluGate` (out = silu(g) * u): with s = sigmoid(g),
    /// dg = d out * u * s (1 + g (1 - s)), du = d out * g s.
    public static func siluGateBackward(
        gate g: UnsafePointer<Float>, up u: UnsafePointer<Float>, gradOutput: UnsafePointer<Float>,
        gradGate: UnsafeMutablePointer<Float>, gradUp: UnsafeMutablePointer<Float>, count: Int
    ) {
        for i in 0..<count {
            let x = g[i]
            let s = 1 / (1 + expf(-x))
            gradGate[i] = gradOutput[i] * u[i] * s * (1 + x * (1 - s))
            gradUp[i] = gradOutput[i] * x * s
        }
    }
}

extension Rope {
    /// Gradient of `apply`, in place: a rotation's transpose is the rotation by the negative
    /// angle.
    public static func applyBackward(
        _ grad: UnsafeMutablePointer<Float>, heads: Int, dims: Int, cos: [Float], sin: [Float], pairing: Pairing
    ) {
        apply(grad, heads: heads, dims: dims, cos: cos, sin: sin.map { -$0 }, pairing: pairing)
    }
}

extension QuantizedMatrix {
    /// Input gradient of `multiply`: gradInput[j, c] = sum_r W[r, c] * gradOutput[j, r] for `count`
    /// rows (gradOutput: count x rows, gradInput: count x columns, overwritten). The weights are
    /// read once, four rows at a time decoded in registers (`TransposedKernel`), into partial sums
    /// per row chunk; the chunk count depends only on the shape and the chunks are added in order,
    /// so the result does not depend on the thread count.
    public func multiplyTransposed(
        _ gradOutput: UnsafePointer<Float>, count: Int, into gradInput: UnsafeMutablePointer<Float>, pool: ThreadPool
    ) {
        TransposedKernel.run(self, gradOutput, count, gradInput, pool)
    }
}

extension Attention {
    /// Backward of `run` (same arguments and visibility): from d out (queries x heads*headDim)
    /// writes d queries (overwritten) and adds into d keys and d values (slots x kvHeads*headDim;
    /// the caller zeroes them). With p = softmax(scale q.k_s) over the visible slots:
    /// dp_s = d out . v_s, ds_s = p_s (dp_s - sum_t p_t dp_t), dq = scale sum_s ds_s k_s,
    /// dk_s += scale ds_s q, dv_s += p_s d out. Runs on one thread (the keys and values gradients
    /// are shared by all queries of a kv head); training batches have a handful of queries.
    public static func backward(
        queries q: UnsafePointer<Float>, queryCount: Int, heads: Int, kvHeads: Int, headDim: Int,
        keys: UnsafePointer<Float>, values: UnsafePointer<Float>, slotCount: Int, scale: Float,
        visible: (Int, Int) -> Bool, gradOutput: UnsafePointer<Float>, gradQueries: UnsafeMutablePointer<Float>,
        gradKeys: UnsafeMutablePointer<Float>, gradValues: UnsafeMutablePointer<Float>, pool: ThreadPool
    ) {
        let group = heads / kvHeads
        let kvWidth = kvHeads * headDim
        var probability = [Float](repeating: 0, count: max(slotCount, 1))
        var gradProbability = [Float](repeating: 0, count: max(slotCount, 1))
        var slots = [Int](repeating: 0, count: max(slotCount, 1))
        for i in 0..<queryCount {
            for h in 0..<heads {
                let kvHead = h / group
                let qh = q + i * heads * headDim + h * headDim
                let dout = gradOutput + i * heads * headDim + h * headDim
                let dq = gradQueries + i * heads * headDim + h * headDim
                dq.update(repeating: 0, count: headDim)
                var seen = 0
                var maximum = -Float.infinity
                for s in 0..<slotCount where visible(i, s) {
                    let score = scale * Dot.rowDot(qh, keys + s * kvWidth + kvHead * headDim, headDim)
                    probability[seen] = score
                    slots[seen] = s
                    maximum = max(maximum, score)
                    seen += 1
                }
                if seen == 0 { continue }
                var total: Float = 0
                for k in 0..<seen {
                    probability[k] = expf(probability[k] - maximum)
                    total += probability[k]
                }
                var weighted: Float = 0
                for k in 0..<seen {
                    probability[k] /= total
                    gradProbability[k] = Dot.rowDot(dout, values + slots[k] * kvWidth + kvHead * headDim, headDim)
                    weighted += probability[k] * gradProbability[k]
                }
                for k in 0..<seen {
                    let gradScore = probability[k] * (gradProbability[k] - weighted) * scale
                    let offset = slots[k] * kvWidth + kvHead * headDim
                    let key = keys + offset
                    let dk = gradKeys + offset, dv = gradValues + offset
                    let p = probability[k]
                    for d in 0..<headDim {
                        dq[d] += gradScore * key[d]
                        dk[d] += gradScore * qh[d]
                        dv[d] += p * dout[d]
                    }
                }
            }
        }
    }
}
