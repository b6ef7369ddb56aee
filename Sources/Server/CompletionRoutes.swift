import Foundation
import Hummingbird
import Serving

/// `POST /v1/completions` and `POST /v1/chat/completions`: parse and check the request, queue
/// it, then answer with one JSON body or a server-sent-event stream. A client that goes away
/// (closes its connection, or stops reading a stream) cancels its generation. Watching for that
/// consumes the connection, so these responses say `Connection: close`.
struct CompletionRoutes: Sendable {
    let engine: GenerationEngine

    func register(on router: Router<BasicRequestContext>) {
        router.post("/v1/completions") { request, _ in try await respond(to: request, kind: .completion) }
        router.post("/v1/chat/completions") { request, _ in try await respond(to: request, kind: .chat) }
    }

    func respond(to request: Request, kind: CompletionKind) async throws -> Response {
        var request = request
        let body: ByteBuffer
        do {
            body = try await request.collectBody(upTo: engine.limits.maxBodyBytes)
        } catch let error as HTTPResponseError where error.status == .contentTooLarge {
            throw APIError.bodyTooLarge(limit: engine.limits.maxBodyBytes)
        }
        let parsed = try CompletionRequest.parse(Data(buffer: body), kind: kind)
        let prepared = try engine.model.prepare(parsed, limits: engine.limits)
        let events = try engine.submit(prepared)
        let writer = ResponseWriter(kind: kind, model: engine.model.id)
        guard parsed.stream else {
            let summary = try await request.body.consumeWithCancellationOnInboundClose { _ in try await Self.summary(of: events) }
            var response = JSONResponse.make(try writer.response(summary))
            response.headers[.connection] = "close"
            return response
        }
        let includeUsage = parsed.includeUsage
        let inbound = request.body
        return Response(
            status: .ok,
            headers: [.contentType: "text/event-stream", .cacheControl: "no-cache", .connection: "close"],
            body: ResponseBody { bodyWriter in
                var output = bodyWriter
                try await inbound.consumeWithCancellationOnInboundClose { _ in
                    try await Self.stream(events, writer: writer, includeUsage: includeUsage, to: &output)
                }
                try await output.finish(nil)
            })
    }

    /// Waits for the generation's summary.
    static func summary(of events: AsyncThrowingStream<GenerationEvent, Error>) async throws -> GenerationSummary {
        for try await event in events {
            if case .finished(let summary) = event { return summary }
        }
        throw CancellationError()
    }

    /// Writes the generation as server-sent events: a chunk per step with text, the final chunk,
    /// the usage chunk if asked, `[DONE]`; an error after the stream began as an `error` event.
    static func stream(
        _ events: AsyncThrowingStream<GenerationEvent, Error>, writer: ResponseWriter, includeUsage: Bool,
        to output: inout any ResponseBodyWriter
    ) async throws {
        if let opening = try writer.openingChunk() { try await output.write(EventStream.event(opening)) }
        do {
            for try await event in events {
                switch event {
                case .text(let text, let step):
                    guard !text.isEmpty || step != nil else { continue }
                    try await output.write(EventStream.event(try writer.textChunk(text, step: step)))
                case .finished(let summary):
                    try await output.write(EventStream.event(try writer.finalChunk(summary)))
                    if includeUsage { try await output.write(EventStream.event(try writer.usageChunk(summary))) }
                    try await output.write(EventStream.done)
                }
            }
        } catch let error as APIError {
            try await output.write(EventStream.event(error.jsonData()))
        }
    }
}

/// Server-sent-event framing.
enum EventStream {
    static func event(_ json: Data) -> ByteBuffer {
        var buffer = ByteBuffer()
        buffer.writeString("data: ")
        buffer.writeBytes(json)
        buffer.writeString("\n\n")
        return buffer
    }

    static let done = ByteBuffer(string: "data: [DONE]\n\n")
}
