import ArgumentParser
import PPD

extension MatrixArithmetic: @retroactive ExpressibleByArgument {}
extension AcceptancePolicyKind: @retroactive ExpressibleByArgument {}
extension Benchmark: @retroactive ExpressibleByArgument {}
