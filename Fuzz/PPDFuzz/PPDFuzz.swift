// Coverage-guided fuzzing of every reader of outside input, for libFuzzer
// (`swiftc -sanitize=fuzzer,address`; `make fuzz` builds and runs it, README "Fuzzing").
// One binary, one reader per run, chosen by PPD_FUZZ_TARGET:
//   gguf          GGUFFile and the tokenizer built from its vocabulary
//   tree          tree files (ppd-tree/1 and static path lists)
//   accuracies    guess-accuracy tables
//   vocabulary    guess vocabularies
//   profile       cost profiles
//   safetensors   prompt-token files
//   questions     question files (FastChat question.jsonl)
//   request       OpenAI completion and chat request bodies
// A reader may throw (bad input is expected); a crash, a sanitizer report or a hang is a finding.

import Foundation
import PPD
import Serving

/// The reader this process fuzzes.
enum FuzzTarget: String, CaseIterable {
    case gguf, tree, accuracies, vocabulary, profile, safetensors, questions, request

    /// `PPD_FUZZ_TARGET`; an unknown or missing name stops the run with the list of names.
    static let current: FuzzTarget = {
        let name = ProcessInfo.processInfo.environment["PPD_FUZZ_TARGET"] ?? ""
        guard let target = FuzzTarget(rawValue: name) else {
            FileHandle.standardError.write(Data("PPD_FUZZ_TARGET must be one of: \(allCases.map(\.rawValue).joined(separator: ", "))\n".utf8))
            exit(2)
        }
        return target
    }()

    /// A scratch file for readers that take a path (one per process).
    static let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("ppd-fuzz-\(getpid())")

    /// Feeds `data` to the reader; thrown errors are the expected outcome for bad input.
    func run(_ data: Data) {
        do {
            switch self {
            case .tree:
                _ = try DynamicTree(jsonData: data)
            case .request:
                _ = try CompletionRequest.parse(data, kind: data.first.map { $0 % 2 == 0 } ?? true ? .completion : .chat)
            default:
                try data.write(to: Self.scratch)
                try readFile(Self.scratch)
            }
        } catch {}
    }

    private func readFile(_ url: URL) throws {
        switch self {
        case .gguf:
            let file = try GGUFFile(path: url.path)
            _ = file.tensors.count
            _ = try SentencePieceTokenizer(gguf: file)
        case .accuracies: _ = try GuessAccuracies(contentsOf: url)
        case .vocabulary: _ = try GuessVocabulary(contentsOf: url)
        case .profile: _ = try CostProfile(contentsOf: url)
        case .safetensors: _ = try PromptTokens.load(from: url)
        case .questions: _ = try QuestionFile.read(url.path)
        case .tree, .request: break
        }
    }
}

/// libFuzzer's entry point.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzTestOneInput(_ bytes: UnsafePointer<UInt8>, _ count: Int) -> CInt {
    FuzzTarget.current.run(Data(bytes: bytes, count: count))
    return 0
}
