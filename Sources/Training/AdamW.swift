import Foundation

/// AdamW (decoupled weight decay) over one flat parameter vector, with the learning rate given
/// per step (see `CosineSchedule`). State is plain arrays so checkpoints can store it.
public struct AdamW: Sendable, Equatable {
    public var beta1: Double
    public var beta2: Double
    public var epsilon: Double
    public var weightDecay: Double
    /// First and second moment estimates.
    public var firstMoment: [Double]
    public var secondMoment: [Double]
    /// Steps taken.
    public var step: Int

    /// An optimizer for `count` parameters (PyTorch's defaults; the paper uses weight decay 0).
    public init(count: Int, beta1: Double = 0.9, beta2: Double = 0.999, epsilon: Double = 1e-8, weightDecay: Double = 0) {
        self.beta1 = beta1
        self.beta2 = beta2
        self.epsilon = epsilon
        self.weightDecay = weightDecay
        firstMoment = [Double](repeating: 0, count: count)
        secondMoment = [Double](repeating: 0, count: count)
        step = 0
    }

    /// One update of `parameters` from `gradient` with learning rate `rate`.
    public mutating func update(_ parameters: inout UnsafeMutableBufferPointer<Float>, gradient: [Float], rate: Double) {
        precondition(parameters.count == gradient.count && gradient.count == firstMoment.count)
        step += 1
        let correction1 = 1 - pow(beta1, Double(step))
        let correction2 = 1 - pow(beta2, Double(step))
        for i in 0..<gradient.count {
            let g = Double(gradient[i])
            firstMoment[i] = beta1 * firstMoment[i] + (1 - beta1) * g
            secondMoment[i] = beta2 * secondMoment[i] + (1 - beta2) * g * g
            let mHat = firstMoment[i] / correction1
            let vHat = secondMoment[i] / correction2
            var p = Double(parameters[i])
            p -= rate * weightDecay * p
            p -= rate * mHat / (vHat.squareRoot() + epsilon)
            parameters[i] = Float(p)
        }
    }
}

/// Cosine decay from `peak` to 0 over `totalSteps`, without warm-up (the paper's schedule).
public struct CosineSchedule: Sendable, Equatable {
    public var peak: Double
    public var totalSteps: Int

    public init(peak: Double, totalSteps: Int) {
        self.peak = peak
        self.totalSteps = max(totalSteps, 1)
    }

    /// The learning rate of step `step` (0-based).
    public func rate(at step: Int) -> Double {
        let progress = min(Double(step) / Double(totalSteps), 1)
        return peak * 0.5 * (1 + cos(Double.pi * progress))
    }
}
