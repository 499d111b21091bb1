import Foundation
import Neural

/// Committed test data under `Tests/Fixtures`, located from this source file so tests need no bundle resources.
public enum Fixtures {
    public static let root: String = {
        let here = URL(fileURLWithPath: #filePath)  // Tests/TestSupport/Fixtures.swift
        return here.deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("Fixtures").path
    }()

    public static func path(_ relative: String) -> String { root + "/" + relative }

    /// A PyTorch-generated fixture, `Tests/Fixtures/neural/<name>.safetensors`.
    public static func neural(_ name: String) throws -> FixtureFile {
        let path = path("neural/\(name).safetensors")
        return FixtureFile(path: path, file: try SafeTensors.read(from: path))
    }
}

/// A loaded fixture with convenient float32 accessors.
public struct FixtureFile {
    public let path: String
    public let file: SafeTensors.File

    public func tensor(_ name: String) throws -> Tensor { try file.float32(name, path: path) }
    public func scalars(_ name: String) throws -> [Float] { try tensor(name).scalars }

    /// Loads the fixture's `module.*` entries into `module` (strict).
    public func loadModule(_ module: some Module) throws {
        var moduleFile = SafeTensors.File()
        for name in file.names where name.hasPrefix("module.") {
            moduleFile.append(String(name.dropFirst("module.".count)), file.tensors[name]!)
        }
        try module.stateEntries().load(from: moduleFile, path: path)
    }
}

/// The largest absolute difference between `actual` and `expected`, divided by max(1, max |expected|): the
/// "relative to scale" error the parity tolerances refer to.
public func scaledError(_ actual: UnsafePointer<Float>, _ expected: [Float]) -> Double {
    var worst = 0.0, scale = 1.0
    for (i, e) in expected.enumerated() {
        worst = max(worst, abs(Double(actual[i]) - Double(e)))
        scale = max(scale, abs(Double(e)))
    }
    return worst / scale
}

public func scaledError(_ actual: [Float], _ expected: [Float]) -> Double {
    precondition(actual.count == expected.count, "compared arrays differ in length: \(actual.count) vs \(expected.count)")
    return actual.withUnsafeBufferPointer { scaledError($0.baseAddress!, expected) }
}

/// Tolerances of the PyTorch parity tests (relative to scale).
public enum Tolerance {
    public static let forward = 1e-5
    public static let gradient = 1e-4
}
