import Models

extension MedusaHeads {
    /// `count` heads for a hidden size of `hidden` with weights and biases uniform in
    /// [-scale, scale] (`SplitMix` seeded with `seed`), for tests.
    public static func random(count: Int, hidden: Int, seed: UInt64, scale: Float) throws -> MedusaHeads {
        var random = SplitMix(state: seed)
        let weights = random.values(count * hidden * hidden, scale: scale)
        return try MedusaHeads(count: count, hiddenSize: hidden, weights: weights, biases: random.values(count * hidden, scale: scale))
    }
}
