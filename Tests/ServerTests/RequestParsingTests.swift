import Foundation
import PPD
import Serving
import XCTest

/// `CompletionRequest.parse`: OpenAI's fields, and a 400 naming the field for each mistake.
final class RequestParsingTests: XCTestCase {
    private func parse(_ json: String, kind: CompletionKind = .completion) throws -> CompletionRequest {
        try CompletionRequest.parse(Data(json.utf8), kind: kind)
    }

    private func assertRefused(_ json: String, kind: CompletionKind = .completion, param: String?, code: String? = nil, line: UInt = #line) {
        XCTAssertThrowsError(try parse(json, kind: kind), line: line) { error in
            guard let error = error as? APIError else { return XCTFail("not an APIError: \(error)", line: line) }
            XCTAssertEqual(error.status, 400, line: line)
            XCTAssertEqual(error.param, param, "\(error.message)", line: line)
            if let code { XCTAssertEqual(error.code, code, line: line) }
            XCTAssertFalse(error.message.isEmpty, line: line)
        }
    }

    func testACompletionWithEveryField() throws {
        let request = try parse("""
            {"model": "m", "prompt": "Hi", "max_tokens": 7, "temperature": 0.5, "top_p": 0.9, "top_k": 40, "seed": 3,
             "stop": ["\\n", "END"], "stream": true, "stream_options": {"include_usage": true}, "decoding": "plain",
             "policy": "typical", "n": 1, "logprobs": null, "frequency_penalty": 0, "user": "ignored"}
            """)
        XCTAssertEqual(request.model, "m")
        XCTAssertEqual(request.prompt, .text("Hi"))
        XCTAssertEqual(request.maxTokens, 7)
        XCTAssertEqual(request.sampling, SamplingParameters(temperature: 0.5, topK: 40, topP: 0.9, seed: 3))
        XCTAssertEqual(request.stop, ["\n", "END"])
        XCTAssertTrue(request.stream)
        XCTAssertTrue(request.includeUsage)
        XCTAssertEqual(request.decoding, .plain)
        XCTAssertEqual(request.policyKind, .typical)
    }

    func testDefaultsFollowOpenAI() throws {
        let request = try parse(#"{"prompt": "Hi"}"#)
        XCTAssertEqual(request.sampling.temperature, 1)
        XCTAssertEqual(request.sampling.topP, 1)
        XCTAssertNil(request.maxTokens)
        XCTAssertFalse(request.stream)
        XCTAssertEqual(request.policyKind, .rejection, "sampling at temperature 1 keeps the distribution exact")
        XCTAssertEqual(try parse(#"{"prompt": "Hi", "temperature": 0}"#).policyKind, .greedy)
    }

    func testPromptForms() throws {
        XCTAssertEqual(try parse(#"{"prompt": ["Hi"]}"#).prompt, .text("Hi"))
        XCTAssertEqual(try parse(#"{"prompt": [2, 15, 7]}"#).prompt, .tokens([2, 15, 7]))
        XCTAssertEqual(try parse(#"{"prompt": [[2, 15]]}"#).prompt, .tokens([2, 15]))
        assertRefused(#"{"prompt": ["a", "b"]}"#, param: "prompt")
        assertRefused(#"{"prompt": [2, -1]}"#, param: "prompt")
        assertRefused(#"{"prompt": []}"#, param: "prompt")
        assertRefused(#"{"prompt": 5}"#, param: "prompt")
        assertRefused(#"{"max_tokens": 5}"#, param: "prompt")
    }

    func testChatMessages() throws {
        let request = try parse("""
            {"messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": [{"type": "text", "text": "Hi"}, {"type": "text", "text": "!"}]}],
             "max_completion_tokens": 9}
            """, kind: .chat)
        XCTAssertEqual(request.prompt, .messages([ChatMessage(role: "system", content: "Be brief."), ChatMessage(role: "user", content: "Hi!")]))
        XCTAssertEqual(request.maxTokens, 9)
        assertRefused(#"{"messages": []}"#, kind: .chat, param: "messages")
        assertRefused(#"{"messages": "hi"}"#, kind: .chat, param: "messages")
        assertRefused(#"{"messages": [{"content": "hi"}]}"#, kind: .chat, param: "messages[0].role")
        assertRefused(#"{"messages": [{"role": "user", "content": 3}]}"#, kind: .chat, param: "messages[0].content")
        assertRefused(#"{"messages": [{"role": "user", "content": "a"}, {"role": "tool", "content": "b"}]}"#, kind: .chat, param: "messages[1].role")
    }

    func testWrongTypesAndRangesNameTheField() {
        assertRefused(#"{"prompt": "Hi", "max_tokens": "5"}"#, param: "max_tokens")
        assertRefused(#"{"prompt": "Hi", "max_tokens": 0}"#, param: "max_tokens")
        assertRefused(#"{"prompt": "Hi", "max_tokens": 2.5}"#, param: "max_tokens")
        assertRefused(#"{"prompt": "Hi", "temperature": "warm"}"#, param: "temperature")
        assertRefused(#"{"prompt": "Hi", "temperature": 3}"#, param: "temperature")
        assertRefused(#"{"prompt": "Hi", "top_p": 0}"#, param: "top_p")
        assertRefused(#"{"prompt": "Hi", "top_k": -1}"#, param: "top_k")
        assertRefused(#"{"prompt": "Hi", "stream": "yes"}"#, param: "stream")
        assertRefused(#"{"prompt": "Hi", "stream_options": {"include_usage": 1}}"#, param: "stream_options.include_usage")
        assertRefused(#"{"prompt": "Hi", "model": 4}"#, param: "model")
        assertRefused(#"{"prompt": "Hi", "stop": [1]}"#, param: "stop")
        assertRefused(#"{"prompt": "Hi", "stop": ["a", "b", "c", "d", "e"]}"#, param: "stop")
        assertRefused(#"{"prompt": "Hi", "stop": [""]}"#, param: "stop")
        assertRefused(#"{"prompt": "Hi", "decoding": "fast"}"#, param: "decoding")
        assertRefused(#"{"prompt": "Hi", "policy": "greedy", "temperature": 0.7}"#, param: "policy")
    }

    func testWhatCannotBeHonouredIsRefusedNotIgnored() {
        assertRefused(#"{"prompt": "Hi", "n": 2}"#, param: "n")
        assertRefused(#"{"prompt": "Hi", "echo": true}"#, param: "echo")
        assertRefused(#"{"prompt": "Hi", "logprobs": 5}"#, param: "logprobs")
        assertRefused(#"{"prompt": "Hi", "presence_penalty": 0.5}"#, param: "presence_penalty")
        assertRefused(#"{"prompt": "Hi", "best_of": 3}"#, param: "best_of")
    }

    func testBodiesThatAreNotAJSONObject() {
        assertRefused("{nope", param: nil, code: "invalid_json")
        assertRefused("[1]", param: nil, code: "invalid_json")
        assertRefused("", param: nil, code: "invalid_json")
    }

    func testTheErrorBodyIsOpenAIs() throws {
        let body = APIError.invalidRequest("bad", param: "x", code: "c").jsonData()
        let json = try JSONSerialization.jsonObject(with: body) as! [String: [String: Any]]
        XCTAssertEqual(json["error"]?["message"] as? String, "bad")
        XCTAssertEqual(json["error"]?["type"] as? String, "invalid_request_error")
        XCTAssertEqual(json["error"]?["param"] as? String, "x")
        XCTAssertEqual(json["error"]?["code"] as? String, "c")
        let plain = try JSONSerialization.jsonObject(with: APIError.queueFull(capacity: 2).jsonData()) as! [String: [String: Any]]
        XCTAssertTrue(plain["error"]?["param"] is NSNull, "absent fields are null, as OpenAI sends them")
    }
}
