import ArgumentParser
import Foundation
import CommandOptions
import PPD
import Server
import Serving

extension DecodingMode: ExpressibleByArgument {}

struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Serve the model over HTTP: OpenAI-compatible completions and chat completions (streaming), /v1/models, /health, and a web page at / that marks what each step accepted.",
        discussion: """
            One model in memory; requests queue in front of it and run one at a time. Each request may choose \
            "decoding": "ppd" or "plain" and a "policy"; without one it gets plain decoding, or PPD with --ppd. \
            The PPD options are those of `ppd generate --ppd`.
            """)

    @Option(help: "GGUF model (default: $PPD_MODEL or ~/.cache/ppd/gemma-3-270m-q4_k_m.gguf).")
    var model: String?

    @Option(help: "Address to listen on (loopback by default; 0.0.0.0 for every interface).")
    var host = "127.0.0.1"

    @Option(help: "Port to listen on; 0 picks a free one (printed on stderr).")
    var port = 8080

    @OptionGroup(title: "Computation")
    var compute: ComputeOptions

    @Option(help: "Chat template for /v1/chat/completions: auto (from the model's GGUF chat template; plain when it has none), plain, gemma or vicuna.")
    var chatTemplate = "auto"

    @Option(help: "Requests that may wait while one generates (429 beyond them).")
    var queueLimit = 16

    @Option(help: "Largest request body in bytes (413 beyond it).")
    var maxBodyBytes = 1 << 20

    @Option(help: "Largest max_tokens a request may ask for.")
    var maxTokensLimit = 4096

    @Option(help: "max_tokens of a request that gives none.")
    var defaultMaxTokens = 256

    @Option(help: "Seconds a request may take, waiting included (503 after).")
    var requestTimeout: Double = 300

    @OptionGroup(title: "Parallel prompt decoding (--ppd makes it the default of requests)")
    var decoding: PromptDecodingOptions

    func validate() throws {
        guard (0...65535).contains(port) else { throw ValidationError("--port must be in 0...65535") }
        guard queueLimit >= 0 else { throw ValidationError("--queue-limit must be 0 or more") }
        guard maxBodyBytes >= 1024 else { throw ValidationError("--max-body-bytes must be at least 1024") }
        guard maxTokensLimit >= 1, defaultMaxTokens >= 1 else { throw ValidationError("--max-tokens-limit and --default-max-tokens must be at least 1") }
        guard requestTimeout > 0 else { throw ValidationError("--request-timeout must be positive") }
        guard chatTemplate == "auto" || PromptTemplate.named(chatTemplate) != nil else {
            throw ValidationError("--chat-template: unknown template \"\(chatTemplate)\" (auto, \(PromptTemplate.all.map(\.name).joined(separator: ", ")))")
        }
        if decoding.trace != nil { throw ValidationError("--trace is not available with serve") }
    }

    func run() async throws {
        let path = try ModelLocation.resolve(model)
        let file = try GGUFFile(path: path)
        let tokenizer = try SentencePieceTokenizer(gguf: file)
        let transformer = try Transformer(file: file, threads: compute.threads, arithmetic: compute.arithmetic)
        let prepared = try decoding.prepareDecoder(path: path, transformer: transformer, tokenizer: tokenizer)
        let template = chatTemplate == "auto"
            ? ChatPrompt.template(forChatTemplate: file.metadata["tokenizer.chat_template"]?.stringValue)
            : PromptTemplate.named(chatTemplate)!
        let served = ServedModel(
            id: URL(fileURLWithPath: path).deletingPathExtension().lastPathComponent, transformer: transformer, tokenizer: tokenizer,
            decoder: prepared.decoder, stopTokens: StopTokens.defaults(for: tokenizer.vocabulary), chat: ChatPrompt(template: template),
            defaultDecoding: decoding.ppd ? .ppd : .plain, posteriorThreshold: decoding.posteriorThreshold,
            posteriorAlpha: decoding.posteriorAlpha)
        let limits = ServingLimits(
            maxBodyBytes: maxBodyBytes, maxTokens: maxTokensLimit, defaultMaxTokens: defaultMaxTokens, queueCapacity: queueLimit,
            requestTimeout: requestTimeout)
        let server = PPDServer(engine: GenerationEngine(model: served, limits: limits), host: host, port: port)
        let summary = "model \(served.id), \(transformer.arithmetic) on \(transformer.pool.threadCount) threads, default decoding \(served.defaultDecoding.rawValue), chat template \(template.name)"
        let host = self.host
        try await server.run { port in
            note("ppd serve: listening on http://\(host):\(port) (\(summary))")
        }
    }
}
