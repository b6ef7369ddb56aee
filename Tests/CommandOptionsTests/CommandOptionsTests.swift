import ArgumentParser
import CommandOptions
import Evaluation
import XCTest

/// The option groups every example shares: one meaning per flag, clear refusals.
final class CommandOptionsTests: XCTestCase {
    func testBenchmarkOptionsTakeTheExperimentsDefaultsAndRefuseBadValues() throws {
        let defaults = try BenchmarkOptions.parse([])
        XCTAssertEqual(defaults.questionCount(default: 20), 20)
        XCTAssertEqual(defaults.tokens(default: 64), 64)
        XCTAssertEqual(try defaults.single(default: .alpacaEval), .alpacaEval)
        XCTAssertEqual(defaults.benchmarks(default: Benchmark.allCases), Benchmark.allCases)

        let given = try BenchmarkOptions.parse(["--bench", "gsm8k", "--questions", "3", "--max-tokens", "16", "--offset", "2", "--rounds", "2"])
        XCTAssertEqual(given.questionCount(default: 20), 3)
        XCTAssertEqual(given.tokens(default: 64), 16)
        XCTAssertEqual(try given.single(), .gsm8k)
        XCTAssertEqual(try given.pick(from: .gsm8k, count: 3).map(\.id), try Benchmark.gsm8k.questions(3, offset: 2).map(\.id))

        for bad in [["--questions", "0"], ["--max-tokens", "1"], ["--rounds", "0"], ["--offset", "-1"], ["--bench", "mtbench"]] {
            XCTAssertThrowsError(try BenchmarkOptions.parse(bad), "\(bad)")
        }
        let two = try BenchmarkOptions.parse(["--bench", "gsm8k", "--bench", "humaneval"])
        XCTAssertThrowsError(try two.single()) { XCTAssertTrue("\($0)".contains("one benchmark"), "\($0)") }
    }

    func testCommaSeparatedListsNameTheBadItem() throws {
        XCTAssertEqual(try CommaSeparated.inputLimits("2, 4,8"), [2, 4, 8])
        XCTAssertThrowsError(try CommaSeparated.inputLimits("2,1")) {
            XCTAssertTrue("\($0)".contains("--limits: \"1\" is not an input length limit >= 2"), "\($0)")
        }
        XCTAssertThrowsError(try CommaSeparated.parse("0.5,x", option: "--temperatures", expected: "a temperature") { Float($0) }) {
            XCTAssertTrue("\($0)".contains("\"x\""), "\($0)")
        }
    }

    func testOutputPrefixNeedsAnExistingDirectory() throws {
        let options = try OutputOptions.parse(["--out", "/no/such/directory/result"])
        XCTAssertThrowsError(try options.prefix(default: "x")) { XCTAssertTrue("\($0)".contains("/no/such/directory"), "\($0)") }
        XCTAssertEqual(try OutputOptions.parse([]).prefix(default: "Experiments/results/x"), "Experiments/results/x")
        XCTAssertThrowsError(try ComputeOptions.parse(["--threads", "0"]))
    }
}
