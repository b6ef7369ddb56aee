import Foundation
import Models
import XCTest

/// The default model for golden tests: `PPD_MODEL` or the default cache path. Missing, the test
/// fails and says how to fetch it (`make test` does); `PPD_ALLOW_MISSING_MODEL=1` skips instead.
enum RealModel {
    static func path() throws -> String {
        let path = ModelLocation.defaultPath
        if FileManager.default.fileExists(atPath: path) { return path }
        if ProcessInfo.processInfo.environment["PPD_ALLOW_MISSING_MODEL"] == "1" {
            throw XCTSkip("default model not found at \(path)")
        }
        XCTFail("default model not found at \(path): run `make test` or Scripts/fetch-model.sh to fetch it")
        throw XCTSkip("no model")
    }

    nonisolated(unsafe) private static var cached: Transformer?

    /// One shared instance for the test process (loading maps the file; cheap but not free).
    static func load() throws -> Transformer {
        if let cached { return cached }
        let model = try ModelLoader.load(path: try path())
        cached = model
        return model
    }

    /// Teacher-forced along a token path: the logits at every step (prompt end, then each token).
    static func logitsAlong(_ model: Transformer, prompt: [Int32], path: [Int32]) throws -> [ArraySlice<Float>] {
        let cache = model.makeCache(capacity: prompt.count + path.count + 1)
        var out = [try model.forward(tokens: prompt, cache: cache, logitRows: [prompt.count - 1]).last]
        for token in path.dropLast() { out.append(try model.forward(tokens: [token], cache: cache).last) }
        return out
    }

    struct Prompt {
        let text: String
        let promptTokens: [Int32]
        let llamaTokens: [Int32]
        let llamaSteps: [[(Int32, Float)]]
        let oracleTokens: [Int32]
        let oracleSteps: [[(Int32, Double)]]
    }

    /// The five reference prompts with llama.cpp's and the float64 oracle's outputs.
    static func prompts() throws -> [Prompt] {
        func json(_ name: String) throws -> [String: [String: Any]] {
            let url = try XCTUnwrap(Bundle.module.url(forResource: "Fixtures/\(name)", withExtension: "json"))
            return try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [String: [String: Any]])
        }
        let reference = try json("reference"), extra = try json("reference_extra"), oracle = try json("oracle_f64")
        func ids(_ any: Any?) -> [Int32] { (any as? [NSNumber] ?? []).map { $0.int32Value } }
        func steps(_ any: Any?) -> [[(Int32, Double)]] {
            (any as? [[[NSNumber]]] ?? []).map { step in step.map { ($0[0].int32Value, $0[1].doubleValue) } }
        }
        return reference.keys.sorted().map { text in
            Prompt(
                text: text,
                promptTokens: ids(reference[text]?["prompt_tokens"]),
                llamaTokens: ids(reference[text]?["generated_tokens"]),
                llamaSteps: steps(extra[text]?["steps_top5"]).map { $0.map { ($0.0, Float($0.1)) } },
                oracleTokens: ids(oracle[text]?["generated_tokens"]),
                oracleSteps: steps(oracle[text]?["steps_top5"]))
        }
    }
}
