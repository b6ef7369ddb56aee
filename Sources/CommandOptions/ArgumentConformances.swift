import ArgumentParser
import PPD

extension MatrixArithmetic: ExpressibleByArgument {}
extension AcceptancePolicyKind: ExpressibleByArgument {}
extension Benchmark: ExpressibleByArgument {}
