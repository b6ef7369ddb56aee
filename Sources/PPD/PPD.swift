@_exported import Decoding
@_exported import Evaluation
@_exported import GGUF
@_exported import Kernels
@_exported import Models
@_exported import Store
@_exported import Tokenizer
@_exported import Training
