import Foundation
import PPD
let model = try ModelLoader.load(path: CommandLine.arguments[1])
let prompt: [Int32] = [2, 818, 5279, 529, 7001, 563]
let generator = AutoregressiveGenerator(model: model)
for _ in 0..<3 {
    let r = try generator.generate(prompt: prompt, options: GenerationOptions(maxTokens: 64))
    print(r.tokens.prefix(16), r.prefillTokensPerSecond, r.decodeTokensPerSecond)
}
