import PPD
let f = try GGUFFile(path: CommandLine.arguments[1])
for k in f.metadataKeys { print(k, f.metadata[k]!) }
for t in f.tensors.prefix(20) { print(t.name, t.type, t.shape, t.byteCount) }
