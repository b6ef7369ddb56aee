import Foundation
import Hummingbird

/// The web page (`/`, `/app.js`, `/style.css`), shipped with the server as resources and read
/// into memory once.
struct WebPage: Sendable {
    struct File: Sendable {
        let bytes: ByteBuffer
        let contentType: String
    }

    let files: [String: File]

    /// Reads the page's files; throws naming a file that is missing.
    init() throws {
        var files: [String: File] = [:]
        for (route, name, type) in [
            ("/", "index.html", "text/html; charset=utf-8"), ("/app.js", "app.js", "text/javascript; charset=utf-8"),
            ("/style.css", "style.css", "text/css; charset=utf-8"),
        ] {
            guard let url = Bundle.module.url(forResource: name, withExtension: nil, subdirectory: "Web") else {
                throw ServerError("the web page's file Web/\(name) is missing from the server's resources (\(Bundle.module.bundlePath))")
            }
            files[route] = File(bytes: ByteBuffer(bytes: try Data(contentsOf: url)), contentType: type)
        }
        self.files = files
    }

    func register(on router: Router<BasicRequestContext>) {
        for (route, file) in files {
            router.get(RouterPath(route)) { _, _ in
                Response(status: .ok, headers: [.contentType: file.contentType, .cacheControl: "no-cache"], body: ResponseBody(byteBuffer: file.bytes))
            }
        }
    }
}

/// A server that cannot start.
public struct ServerError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}
