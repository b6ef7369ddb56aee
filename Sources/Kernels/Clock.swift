extension ContinuousClock.Instant {
    /// Seconds elapsed since this instant.
    public func secondsSince() -> Double {
        let d = ContinuousClock.now - self
        return Double(d.components.seconds) + Double(d.components.attoseconds) * 1e-18
    }
}
