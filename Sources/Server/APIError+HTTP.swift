import Foundation
import Hummingbird
import Serving

extension APIError {
    /// The JSON error response.
    var response: Response { JSONResponse.make(jsonData(), status: HTTPResponse.Status(code: status)) }
}

/// JSON responses.
enum JSONResponse {
    static func make(_ data: Data, status: HTTPResponse.Status = .ok) -> Response {
        Response(
            status: status, headers: [.contentType: "application/json", .cacheControl: "no-store"],
            body: ResponseBody(byteBuffer: ByteBuffer(bytes: data)))
    }

    static func make(_ value: some Encodable, status: HTTPResponse.Status = .ok) throws -> Response {
        make(try APIJSON.encoder.encode(value), status: status)
    }
}

/// Answers every error as OpenAI's JSON error body: `APIError`s with their status, the router's
/// own (no such route: 404, wrong method: 405), a body over the limit (413), anything else 500.
struct JSONErrorMiddleware<Context: RequestContext>: RouterMiddleware {
    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as APIError {
            return error.response
        } catch let error as HTTPResponseError {
            let status = error.status
            let message: String
            switch status {
            case .notFound: message = "no route \(request.method) \(request.uri.path)"
            case .methodNotAllowed: message = "\(request.method) is not allowed on \(request.uri.path)"
            default: message = status.reasonPhrase
            }
            return JSONResponse.make(
                APIError(status: status.code, type: status.code >= 500 ? "server_error" : "invalid_request_error", message: message)
                    .jsonData(),
                status: status)
        } catch is CancellationError {
            throw CancellationError()
        } catch {
            return JSONResponse.make(APIError.internalError("\(error)").jsonData(), status: .internalServerError)
        }
    }
}
