import Foundation
import PPD
let model = try ModelLoader.load(path: CommandLine.arguments[1])
let prompt: [Int32] = [2, 818, 5279, 529, 7001, 563]
let cache = model.makeCache(capacity: 512)
var t0 = Date()
var logits = try model.forward(tokens: prompt, cache: cache, logitRows: [prompt.count - 1])
print("prefill", Date().timeIntervalSince(t0))
print(logits.last.topK(5))
var tokens: [Int32] = []
t0 = Date()
for _ in 0..<64 {
    let next = Int32(logits.last.argmax())
    tokens.append(next)
    logits = try model.forward(tokens: [next], cache: cache)
}
let dt = Date().timeIntervalSince(t0)
print(tokens, 64 / dt, "tok/s")
