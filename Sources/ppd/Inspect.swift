import ArgumentParser
import CommandOptions
import PPD

struct Inspect: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Print a GGUF file's metadata and tensor table.")

    @Argument(help: "GGUF file (default: the default model).")
    var model: String?

    func run() throws {
        let file = try GGUFFile(path: try ModelLocation.resolve(model))
        print("file: \(file.path)")
        print("GGUF version \(file.version), \(file.metadata.count) metadata keys, \(file.tensors.count) tensors, \(file.fileSize) bytes")
        print("\nmetadata:")
        for key in file.metadataKeys { print("  \(key) = \(file.metadata[key]!)") }
        print("\ntensors:")
        let width = file.tensors.map(\.name.count).max() ?? 4
        print("  " + "name".padding(toLength: width, withPad: " ", startingAt: 0) + "  type   shape                bytes")
        var total = 0
        for t in file.tensors {
            let shape = "[" + t.shape.map(String.init).joined(separator: ", ") + "]"
            print("  " + t.name.padding(toLength: width, withPad: " ", startingAt: 0) + "  "
                + t.type.description.padding(toLength: 5, withPad: " ", startingAt: 0) + "  "
                + shape.padding(toLength: 19, withPad: " ", startingAt: 0) + "  \(t.byteCount)")
            total += t.byteCount
        }
        print("  total tensor bytes: \(total)")
    }
}
