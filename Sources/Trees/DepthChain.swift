/// The Markov chain of tree depths that a dynamic tree induces, and its long-run averages.
///
/// A PPD step runs the tree of the current depth d (the number of distances with guesses). If the
/// last accepted node carries k prompt tokens, the next step has depth k; if nothing is accepted,
/// the root's chain gives all N. State 0 is a step with no guesses at all (after accepting a node
/// that carries no prompt tokens): it runs the root and its chain only, accepts nothing, and
/// leads to depth N. In the long run the chain spends a fraction pi_d of the steps at depth d,
/// so a step emits 1 + sum_d pi_d v_d tokens on average, v_d being the expected number of
/// accepted candidates of depth d's tree.
public struct DepthChain: Sendable, Equatable {
    /// `transitions[s][t]`: probability that a step at depth s is followed by one at depth t;
    /// states 0...N, each row sums to 1.
    public let transitions: [[Double]]

    /// A chain from its transition matrix (square, states 0...N).
    public init(transitions: [[Double]]) {
        self.transitions = transitions
    }

    /// The long-run fraction of steps spent in each state: the solution of pi T = pi with
    /// sum(pi) = 1, found by replacing state 0's balance equation with the normalisation (the
    /// same linear system as the paper's `expected_accuracy`) and solving it by Gaussian
    /// elimination with partial pivoting.
    public func stationary() -> [Double] {
        let n = transitions.count
        // Rows 0..<n-1: balance of states 1...N: sum_s T[s][k] pi_s - pi_k = 0. Last row: sum = 1.
        var a = [[Double]](repeating: [Double](repeating: 0, count: n), count: n)
        var b = [Double](repeating: 0, count: n)
        for k in 1..<n {
            for s in 0..<n { a[k - 1][s] = transitions[s][k] }
            a[k - 1][k] -= 1
        }
        a[n - 1] = [Double](repeating: 1, count: n)
        b[n - 1] = 1
        return DepthChain.solve(a, b)
    }

    /// x with a x = b (a square and non-singular), by elimination with partial pivoting.
    static func solve(_ matrix: [[Double]], _ rhs: [Double]) -> [Double] {
        var a = matrix
        var b = rhs
        let n = b.count
        for column in 0..<n {
            var pivot = column
            for row in column + 1..<max(n, column + 1) where abs(a[row][column]) > abs(a[pivot][column]) {
                pivot = row
            }
            if pivot != column {
                a.swapAt(pivot, column)
                b.swapAt(pivot, column)
            }
            let p = a[column][column]
            guard p != 0 else { continue }
            for row in column + 1..<max(n, column + 1) {
                let factor = a[row][column] / p
                if factor == 0 { continue }
                for c in column..<n { a[row][c] -= factor * a[column][c] }
                b[row] -= factor * b[column]
            }
        }
        var x = [Double](repeating: 0, count: n)
        for row in stride(from: n - 1, through: 0, by: -1) {
            var sum = b[row]
            for c in row + 1..<max(n, row + 1) { sum -= a[row][c] * x[c] }
            x[row] = a[row][row] == 0 ? 0 : sum / a[row][row]
        }
        return x
    }
}
