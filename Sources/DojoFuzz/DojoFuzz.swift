import Foundation
import FuzzHarness

// The libFuzzer entry point for every fuzz target. Build and run it with `scripts/fuzz.sh TARGET SECONDS`, which
// compiles it with `-sanitize=fuzzer,address -DDOJO_FUZZ`; `DOJO_FUZZ_TARGET` names the target (see `fuzzTargets`).
//
// SwiftPM links an executable with `main` aliased to this module's entry point, so libFuzzer's own `main` cannot be
// used: `dojo_fuzz_main` below is that entry point and hands control to libFuzzer through `LLVMFuzzerRunDriver`.
// A normal `swift build` (no sanitizer) builds a stub that says how to build the real thing.

#if DOJO_FUZZ
@_silgen_name("LLVMFuzzerRunDriver")
func runFuzzerDriver(_ argc: UnsafeMutablePointer<CInt>,
                     _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>,
                     _ testOneInput: @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt) -> CInt

/// The harness `DOJO_FUZZ_TARGET` names, looked up once.
nonisolated(unsafe) var selectedTarget: (@Sendable (Data) -> Void)?

@_cdecl("DojoFuzz_main")
func fuzzMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    let name = ProcessInfo.processInfo.environment["DOJO_FUZZ_TARGET"] ?? ""
    guard let target = fuzzTargets.first(where: { $0.name == name }) else {
        let names = fuzzTargets.map(\.name).joined(separator: ", ")
        FileHandle.standardError.write(Data("set DOJO_FUZZ_TARGET to one of: \(names)\n".utf8))
        return 2
    }
    selectedTarget = target.run
    var count = argc, vector = argv
    return runFuzzerDriver(&count, &vector) { bytes, size in
        let data = size == 0 || bytes == nil ? Data() : Data(bytes: bytes!, count: size)
        selectedTarget?(data)
        return 0
    }
}
#else
@main struct FuzzStub {
    /// `dojo-fuzz seeds fuzz/corpus` writes the generated seed files; anything else says how to fuzz.
    static func main() throws {
        let arguments = CommandLine.arguments
        if arguments.count == 3, arguments[1] == "seeds" {
            try writeSeeds(into: arguments[2])
            return
        }
        print("dojo-fuzz is built by scripts/fuzz.sh (libFuzzer and AddressSanitizer): scripts/fuzz.sh TARGET SECONDS")
        print("without a sanitizer it only writes seed files: dojo-fuzz seeds fuzz/corpus")
    }
}
#endif
