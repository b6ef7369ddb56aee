// swift-tools-version:6.1
import Foundation
import PackageDescription

/// The CPU the kernels are compiled for. Explicit SIMD code needs a target CPU, or fused
/// multiply-add and wide integer conversions lower to per-lane library calls. `PPD_TARGET_CPU`
/// overrides the choice; otherwise the manifest picks from this machine's /proc/cpuinfo.
func kernelTargetCPU() -> String {
    if let cpu = ProcessInfo.processInfo.environment["PPD_TARGET_CPU"], !cpu.isEmpty { return cpu }
    guard let info = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8) else { return "x86-64" }
    let flags = Set(info.split(whereSeparator: { $0 == " " || $0 == "\n" || $0 == "\t" }).map(String.init))
    #if arch(x86_64)
        // znver4 code uses AVX-512 VBMI, VNNI, BF16 and GFNI instructions (LLVM picks them for
        // byte shuffles and shifts): only where all of them exist.
        let zen4Features = ["avx512f", "avx512bw", "avx512vl", "avx512dq", "avx512vbmi", "avx512_vnni", "avx512_bf16", "gfni"]
        if zen4Features.allSatisfy(flags.contains) { return "znver4" }
        if ["avx512f", "avx512bw", "avx512vl", "avx512dq"].allSatisfy(flags.contains) { return "skylake-avx512" }
        if flags.contains("avx2") && flags.contains("fma") { return "haswell" }
        return "x86-64"
    #else
        return "generic"
    #endif
}

/// The kernels' hot loops run without bounds checks (their tests check every index path against
/// references); every target above them keeps Swift's checks, so a caller's indexing mistake
/// through public API (`Logits.row`, `KVCache.keep`, `ActivationBlock.head`, ...) stops with a
/// message instead of corrupting memory. Measured side by side (Experiments/results/
/// checked-builds-2026-12-02.txt): generation 1.014x (plain) and 1.004x (PPD) the unchecked build.
let kernelSettings: [SwiftSetting] = [.unsafeFlags(["-target-cpu", kernelTargetCPU(), "-Ounchecked"])]
let optimized: [SwiftSetting] = [.unsafeFlags(["-target-cpu", kernelTargetCPU()])]

/// The examples, one per paper experiment: `Examples/<name>/main.swift` on the umbrella library
/// and the shared command-line options.
let examples = [
    "Example-Speedup", "Example-GuessAccuracy", "Example-TreeAblation", "Example-Sampling", "Example-HardwareAware",
    "Example-Memory", "Example-SpeculativeCombo", "Example-ActivationAblation", "Example-TrainingAblation", "Example-TrainingCost",
    "Example-Peers",
]

func example(_ name: String) -> Target {
    .executableTarget(
        name: name,
        dependencies: ["PPD", "CommandOptions", .product(name: "ArgumentParser", package: "swift-argument-parser")],
        path: "Examples/\(name)", swiftSettings: optimized)
}

let package = Package(
    name: "PPD",
    platforms: [.macOS(.v14)],
    products: [
        .library(name: "PPD", targets: ["PPD"]),
        .executable(name: "ppd", targets: ["ppd"]),
    ] + examples.map { .executable(name: $0, targets: [$0]) },
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1", traits: []),
    ],
    targets: [
        .systemLibrary(name: "CHDF5", pkgConfig: "hdf5-serial", providers: [.apt(["libhdf5-dev"])]),
        .target(name: "CKernelSupport"),
        .target(name: "Kernels", dependencies: ["CKernelSupport"], swiftSettings: kernelSettings),
        .target(name: "GGUF", dependencies: ["Kernels"], swiftSettings: optimized),
        .target(name: "Tokenizer", dependencies: ["GGUF"]),
        .target(
            name: "Models",
            dependencies: ["Kernels", "GGUF", "Tokenizer"],
            swiftSettings: optimized),
        .target(name: "Trees", dependencies: ["Models", "Kernels"], swiftSettings: optimized),
        .target(name: "Decoding", dependencies: ["Trees", "Models", "Tokenizer", "Kernels"], swiftSettings: optimized),
        .target(name: "Training", dependencies: ["Models", "Decoding", "Kernels"], swiftSettings: optimized),
        .target(name: "Store", dependencies: ["CHDF5", "Models", "Decoding"], swiftSettings: optimized),
        .target(
            name: "Evaluation", dependencies: ["Models", "Decoding", "Training", "Store", "Tokenizer", "GGUF", "Kernels"],
            swiftSettings: optimized),
        .target(name: "PPD", dependencies: ["Kernels", "GGUF", "Tokenizer", "Models", "Trees", "Decoding", "Training", "Store", "Evaluation"]),
        .target(
            name: "CommandOptions",
            dependencies: ["PPD", .product(name: "ArgumentParser", package: "swift-argument-parser")],
            swiftSettings: optimized),
        .target(name: "Serving", dependencies: ["PPD"]),
        .target(
            name: "Server",
            dependencies: ["Serving", .product(name: "Hummingbird", package: "hummingbird")],
            resources: [.copy("Web")]),
        .executableTarget(
            name: "ppd",
            dependencies: ["PPD", "Server", "CommandOptions", .product(name: "ArgumentParser", package: "swift-argument-parser")],
            swiftSettings: optimized),
    ] + examples.map(example) + [
        .target(name: "TestSupport", dependencies: ["GGUF", "Kernels", "Models"], path: "Tests/TestSupport"),
        .testTarget(name: "KernelsTests", dependencies: ["Kernels"], resources: [.copy("Fixtures")]),
        .testTarget(name: "TokenizerTests", dependencies: ["Tokenizer", "GGUF"], resources: [.copy("Fixtures")]),
        .testTarget(name: "GGUFTests", dependencies: ["GGUF", "TestSupport"]),
        .testTarget(name: "ModelsTests", dependencies: ["Models", "Decoding", "Tokenizer", "TestSupport"], resources: [.copy("Fixtures")]),
        .testTarget(name: "DecodingTests", dependencies: ["Decoding", "Trees", "Models", "Tokenizer", "TestSupport"], resources: [.copy("Fixtures")]),
        .testTarget(name: "TrainingTests", dependencies: ["Training", "Decoding", "Models", "Kernels", "Tokenizer", "GGUF", "TestSupport"]),
        .testTarget(name: "StoreTests", dependencies: ["Store", "Models", "Decoding", "TestSupport"]),
        .testTarget(name: "EvaluationTests", dependencies: ["Evaluation", "Decoding", "Models", "Store", "Training", "Tokenizer", "GGUF", "TestSupport"]),
        .testTarget(name: "PPDTests", dependencies: ["PPD", "TestSupport"]),
        .testTarget(
            name: "CommandOptionsTests",
            dependencies: ["CommandOptions", "Evaluation", .product(name: "ArgumentParser", package: "swift-argument-parser")]),
        .testTarget(name: "ServerTests", dependencies: ["Server", "Serving", "PPD"], exclude: ["Scripts"]),
    ],
    swiftLanguageModes: [.v5]
)

// The fuzz harness (README "Fuzzing", `make fuzz`): built only when PPD_FUZZ is set, in its own
// build directory, with every module instrumented (`-Xswiftc -sanitize=fuzzer,address`); its
// entry point (CFuzzDriver) runs libFuzzer's driver.
if ProcessInfo.processInfo.environment["PPD_FUZZ"] != nil {
    package.products.append(.executable(name: "PPDFuzz", targets: ["PPDFuzz"]))
    package.targets += [
        .target(name: "CFuzzDriver", path: "Fuzz/CFuzzDriver"),
        .executableTarget(
            name: "PPDFuzz", dependencies: ["PPD", "Serving", "CFuzzDriver"], path: "Fuzz/PPDFuzz",
            swiftSettings: [.unsafeFlags(["-parse-as-library"])]),
    ]
}
