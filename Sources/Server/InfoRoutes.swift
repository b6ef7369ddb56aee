import Foundation
import Hummingbird
import PPD
import Serving

/// `GET /v1/models` (the one served model) and `GET /health` (queue, counts, memory).
struct InfoRoutes: Sendable {
    let engine: GenerationEngine
    let started = Date()

    func register(on router: Router<BasicRequestContext>) {
        router.get("/v1/models") { _, _ in try JSONResponse.make(ModelList(data: [model])) }
        router.get("/v1/models/:id") { _, context in
            let id = context.parameters.get("id") ?? ""
            guard id == engine.model.id else {
                throw APIError.notFound("the model \"\(id)\" does not exist: this server serves \"\(engine.model.id)\"", code: "model_not_found")
            }
            return try JSONResponse.make(model)
        }
        router.get("/health") { _, _ in try JSONResponse.make(health) }
    }

    private var model: ModelEntry { ModelEntry(id: engine.model.id, created: Int(started.timeIntervalSince1970)) }

    private var health: Health {
        let decoder = engine.model.decoder
        return Health(
            model: engine.model.id, defaultDecoding: engine.model.defaultDecoding.rawValue, ppdAvailable: decoder != nil,
            promptTokens: decoder?.promptTokenCount ?? 0, drafter: decoder?.drafter?.name,
            queueCapacity: engine.limits.queueCapacity, maxTokens: engine.limits.maxTokens,
            contextLength: engine.model.transformer.config.contextLength, statistics: engine.statistics, memory: .current())
    }

    struct ModelEntry: Encodable {
        let id: String
        let object = "model"
        let created: Int
        let ownedBy = "ppd"

        enum CodingKeys: String, CodingKey { case id, object, created, ownedBy = "owned_by" }
    }

    struct ModelList: Encodable {
        let object = "list"
        let data: [ModelEntry]
    }

    struct Health: Encodable {
        let status = "ok"
        let model: String
        let defaultDecoding: String
        let ppdAvailable: Bool
        let promptTokens: Int
        let drafter: String?
        let queueCapacity: Int
        let maxTokens: Int
        let contextLength: Int
        let statistics: EngineStatistics
        let memory: ProcessMemory

        enum CodingKeys: String, CodingKey {
            case status, model, defaultDecoding = "default_decoding", ppdAvailable = "ppd_available", promptTokens = "prompt_tokens"
            case drafter, queueCapacity = "queue_capacity", maxTokens = "max_tokens", contextLength = "context_length", statistics, memory
        }
    }
}
