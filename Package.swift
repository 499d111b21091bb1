// swift-tools-version: 6.1
// Dojo: a deterministic RL simulator and agent lab. The module graph is described in docs/architecture.md;
// arrows point one way only (dojo → Training → Agents/Environments → Neural/Sim → SeededRandom).
import PackageDescription

/// Hot loops (environment steps, layer kernels) run on class state; dynamic exclusivity checks there cost more than
/// the work. The code keeps its own access discipline (one owner per buffer, one thread per environment copy).
let hotLoopSettings: [SwiftSetting] = [.unsafeFlags(["-enforce-exclusivity=unchecked"])]

/// On x86-64 hosts the neural core is compiled for AVX2 (Haswell and later, x86-64-v3): eight-lane SIMD runs natively.
#if arch(x86_64)
let avx2: [SwiftSetting] = [.unsafeFlags(["-target-cpu", "haswell"])]
let avx2C = ["-mavx2"]  // for the C kernels; no -mfma: they must round as their Swift references
#else
let avx2: [SwiftSetting] = []
let avx2C: [String] = []
#endif

/// The neural core's eight-lane math (SIMD8 exp/tanh) is unspecialized generic code without optimization, some 100×
/// slower; debug builds (and so `swift test`) optimize this one target too, which keeps the learning tests short.
let neuralSettings: [SwiftSetting] = hotLoopSettings + [.unsafeFlags(["-O"], .when(configuration: .debug))] + avx2

let package = Package(
    name: "Dojo",
    products: [
        .executable(name: "dojo", targets: ["dojo"]),
        .executable(name: "dojo-fuzz", targets: ["DojoFuzz"]),
        .library(name: "Neural", targets: ["Neural"]),
        .library(name: "Sim", targets: ["Sim"]),
        // The C interface (include/dojo.h) as libdojo-c.so, for Python and other languages.
        .library(name: "dojo-c", type: .dynamic, targets: ["DojoC"]),
    ],
    traits: [
        .trait(name: "SDL", description: "Build the SDL2 window (needs libsdl2-dev). Off: headless only."),
        .default(enabledTraits: ["SDL"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
    ],
    targets: [
        // System libraries.
        .systemLibrary(name: "CBLAS", path: "Sources/CBLAS", pkgConfig: "openblas",
                       providers: [.apt(["libopenblas-dev"])]),
        .systemLibrary(name: "CZlib", path: "Sources/CZlib", pkgConfig: "zlib",
                       providers: [.apt(["zlib1g-dev"])]),
        .systemLibrary(name: "CSDL2", path: "Sources/CSDL2", pkgConfig: "sdl2",
                       providers: [.apt(["libsdl2-dev"])]),

        // Tiny C kernels that need compiler flags Swift cannot set per loop (vector square roots).
        .target(name: "CKernels", cSettings: [.unsafeFlags(["-O3", "-fno-math-errno", "-ffp-contract=off"] + avx2C)]),
        // Leaf: the one seeded generator every consumer derives its streams from.
        .target(name: "SeededRandom"),
        // Neural-network core: tensors, layers, LSTM, attention, losses, optimizers, safetensors.
        .target(name: "Neural", dependencies: ["CBLAS", "CKernels", "SeededRandom"], swiftSettings: neuralSettings),
        // Simulator contract: environments, spaces, vector env, wrappers, canvas, replays.
        .target(name: "Sim", dependencies: ["SeededRandom", "CZlib"], swiftSettings: hotLoopSettings),
        // AVX2 as the neural core (the binary needs it anyway): cart-pole's four-lane dynamics are one instruction each.
        .target(name: "Environments", dependencies: ["Sim"], path: "Environments", swiftSettings: hotLoopSettings + avx2),
        .target(name: "Agents", dependencies: ["Sim", "Neural"], path: "Agents"),
        // Composition root: run loops, evaluation, checkpoints, logs, benchmarks.
        .target(name: "Training", dependencies: ["Agents", "Environments", "Neural", "Sim", "CBLAS",
                                                 .product(name: "Yams", package: "Yams")]),
        .target(name: "Visualizer", dependencies: [
            "Sim",
            .target(name: "CSDL2", condition: .when(traits: ["SDL"])),
        ]),
        .executableTarget(name: "dojo", dependencies: [
            "Training", "Visualizer", "Environments", "Sim",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),
        // The C interface to the simulator (include/dojo.h).
        .target(name: "DojoC", dependencies: ["Environments", "Sim", "Training"], swiftSettings: hotLoopSettings),
        // Fuzzing: one harness per reader of untrusted files and one for the C interface, and the libFuzzer binary
        // scripts/fuzz.sh builds.
        .target(name: "FuzzHarness", dependencies: ["Training", "Environments", "Sim", "Neural", "DojoC"]),
        .executableTarget(name: "DojoFuzz", dependencies: ["FuzzHarness"]),

        // Test support shared by every test target.
        .target(name: "CAllocationCounter", path: "Tests/CAllocationCounter"),
        .target(name: "TestSupport", dependencies: ["Neural", "SeededRandom", "CAllocationCounter", "CBLAS"],
                path: "Tests/TestSupport"),
        .testTarget(name: "NeuralTests", dependencies: ["Neural", "SeededRandom", "TestSupport", "CKernels", "CBLAS"]),
        .testTarget(name: "SimTests", dependencies: ["Sim", "Environments", "TestSupport", "CZlib"]),
        .testTarget(name: "DojoCLITests", dependencies: ["dojo", "TestSupport"]),
        .testTarget(name: "TrainingTests", dependencies: ["Training", "Agents", "Environments", "Neural", "Sim", "TestSupport",
                                                          "FuzzHarness"]),
        .testTarget(name: "DojoCTests", dependencies: ["DojoC", "Environments", "Sim", "TestSupport"]),
        .testTarget(name: "VisualizerTests", dependencies: ["Visualizer", "Environments", "Sim", "TestSupport"]),
    ]
)
