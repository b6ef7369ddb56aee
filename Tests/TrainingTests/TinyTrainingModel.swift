import GGUF
import Models
import TestSupport
import Tokenizer

/// The tiny Llama (48-token vocabulary, one thread) the training tests train on.
func tinyTrainingModel() throws -> (Transformer, SentencePieceTokenizer) {
    var spec = TinyModel(.llama)
    spec.vocab = 48
    let path = try spec.write()
    let file = try GGUFFile(path: path)
    return (try Transformer(file: file, threads: 1), try SentencePieceTokenizer(gguf: file))
}
