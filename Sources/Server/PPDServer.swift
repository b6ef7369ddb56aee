import Foundation
import Hummingbird
import Logging
import Serving

/// The HTTP server of `ppd serve`: OpenAI's completions, chat completions and models endpoints,
/// `/health`, and the web page, in front of one `GenerationEngine`.
public struct PPDServer: Sendable {
    public let engine: GenerationEngine
    /// Address to bind (loopback by default).
    public let host: String
    /// Port to bind; 0 picks a free one (reported to `onReady`).
    public let port: Int

    public init(engine: GenerationEngine, host: String = "127.0.0.1", port: Int = 8080) {
        self.engine = engine
        self.host = host
        self.port = port
    }

    /// Serves until the task is cancelled or, with `handleSignals`, the process gets SIGINT or
    /// SIGTERM (then requests in flight finish first). `onReady` gets the bound port once the
    /// server listens.
    public func run(handleSignals: Bool = true, onReady: @escaping @Sendable (Int) async -> Void = { _ in }) async throws {
        let router = Router()
        router.add(middleware: JSONErrorMiddleware())
        CompletionRoutes(engine: engine).register(on: router)
        InfoRoutes(engine: engine).register(on: router)
        try WebPage().register(on: router)
        var logger = Logger(label: "ppd-serve")
        logger.logLevel = .warning
        let app = Application(
            router: router, configuration: .init(address: .hostname(host, port: port), serverName: "ppd"),
            onServerRunning: { channel in await onReady(channel.localAddress?.port ?? 0) }, logger: logger)
        defer { engine.shutdown() }
        if handleSignals {
            try await app.runService()
        } else {
            try await app.run()
        }
    }
}
