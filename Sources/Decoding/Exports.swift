// Decoding builds on the candidate trees and their sizing (module Trees); code that imports
// Decoding sees them too.
@_exported import Trees
