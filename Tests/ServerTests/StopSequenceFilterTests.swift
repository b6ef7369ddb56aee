import Serving
import Tokenizer
import XCTest

final class StopSequenceFilterTests: XCTestCase {
    /// Feeds `pieces`; returns what was sent and whether it stopped.
    private func run(_ stops: [String], _ pieces: [String]) -> (sent: [String], stopped: Bool) {
        var filter = StopSequenceFilter(stops: stops)
        var sent = pieces.map { filter.append($0) }
        sent.append(filter.finish())
        return (sent, filter.stopped)
    }

    func testAStopSplitAcrossPiecesIsNeverSent() {
        let (sent, stopped) = run(["\nUser:"], ["Hello", " there\n", "Us", "er: more"])
        XCTAssertEqual(sent, ["Hello", " there", "", "", ""])
        XCTAssertTrue(stopped)
    }

    func testHeldBackTextIsReleasedWhenItIsNoStop() {
        let (sent, stopped) = run(["\nUser:"], ["a\n", "Us", "ually", " b"])
        XCTAssertEqual(sent.joined(), "a\nUsually b")
        XCTAssertEqual(sent[0], "a", "the newline waits: it may start the stop")
        XCTAssertFalse(stopped)
    }

    func testTheEarliestOfSeveralStopsWins() {
        let (sent, _) = run(["END", "x"], ["abcxdefEND"])
        XCTAssertEqual(sent.joined(), "abc")
    }

    func testTextAtTheEndIsFlushed() {
        XCTAssertEqual(run(["STOP"], ["ST"]).sent, ["", "ST"])
        XCTAssertEqual(run([], ["a", "b"]).sent, ["a", "b", ""])
    }

    func testChatTemplates() {
        XCTAssertEqual(ChatPrompt.template(forChatTemplate: nil), .plain)
        XCTAssertEqual(ChatPrompt.template(forChatTemplate: "{{ '<start_of_turn>' + role }}"), .gemma)
        let plain = ChatPrompt(template: .plain)
        XCTAssertEqual(
            plain.text(for: [
                ChatMessage(role: "system", content: "Be brief."), ChatMessage(role: "user", content: "Hi"),
                ChatMessage(role: "assistant", content: "Hello."), ChatMessage(role: "user", content: "Why?"),
            ]),
            "Be brief.\nUser: Hi\nAssistant: Hello.\nUser: Why?\nAssistant:")
        XCTAssertEqual(plain.stopSequences, ["\nUser:"])
        XCTAssertEqual(ChatPrompt(template: .gemma).stopSequences, [], "Gemma's end of turn is a stop token")
    }
}
