import Foundation
import Neural
import SeededRandom
import Testing
import TestSupport

@Suite struct SafeTensorsTests {
    init() { pinBLASToOneThread() }

    func temporaryPath(_ name: String) -> String {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("dojo-tests-\(UUID().uuidString)")
        try! FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        return folder.appendingPathComponent(name).path
    }

    func smallModel(seed: UInt64 = 1) -> Sequential {
        var rng = SeededGenerator(seed: seed)
        return Sequential([Linear(inputFeatures: 3, outputFeatures: 4, rng: &rng), BatchNorm(features: 4)])
    }

    @Test("Encode then decode gives back every tensor, counter and metadata entry")
    func roundTrip() throws {
        var file = SafeTensors.File(metadata: ["format": "pt", "note": "quote \" and \\ survive"])
        file.append("a.weight", .float32(Tensor(shape: [2, 3], scalars: [1, -2, 3.5, .pi, 0, -0])))
        file.append("steps", .int64(shape: [], values: [123_456_789_012]))
        file.append("empty", .float32(Tensor(shape: [0, 4], scalars: [])))
        let decoded = try SafeTensors.decode(SafeTensors.encode(file), path: "memory")
        #expect(decoded.tensors == file.tensors)
        #expect(decoded.metadata == file.metadata)
        #expect(Set(decoded.names) == Set(file.names))
    }

    @Test("An empty tensor sharing its offset with a later, non-empty one decodes (regression)")
    func emptyTensorAtSharedOffset() throws {
        var file = SafeTensors.File()
        file.append("z_empty", .float32(Tensor(shape: [0], scalars: [])))
        file.append("a_values", .float32(Tensor(shape: [2], scalars: [1, 2])))
        #expect(try SafeTensors.decode(SafeTensors.encode(file), path: "memory").tensors == file.tensors)
    }

    @Test("A module saved and loaded into a fresh one with another seed gives identical state")
    func moduleRoundTrip() throws {
        let path = temporaryPath("model.safetensors")
        let original = smallModel(seed: 1)
        original.layers[1].forward([1, 2, 3, 4, 5, 6, 7, 8], rows: 2)  // move the running statistics
        try original.save(to: path)
        let restored = smallModel(seed: 2)
        try restored.load(from: path)
        for (a, b) in zip(original.stateEntries(), restored.stateEntries()) {
            #expect(a.name == b.name)
            #expect(a.value == b.value, "\(a.name)")
        }
        #expect(original.stateEntries().map(\.name) == ["0.weight", "0.bias", "1.weight", "1.bias", "1.running_mean",
                                                         "1.running_var", "1.num_batches_tracked"])
    }

    /// Writes `file` with `bytes` replaced and returns the error that loading `smallModel` from it throws.
    func loadError(_ mutate: (inout SafeTensors.File) -> Void) throws -> SafeTensorsError? {
        let path = temporaryPath("bad.safetensors")
        var file = smallModel().stateFile()
        mutate(&file)
        try SafeTensors.write(file, to: path)
        let model = smallModel(seed: 9)
        let before = model.stateEntries().map(\.value)
        do {
            try model.load(from: path)
            return nil
        } catch let error as SafeTensorsError {
            #expect(model.stateEntries().map(\.value) == before, "a failed load changed the model")
            #expect(error.description.contains(path), "the message names the file")
            return error
        }
    }

    @Test func missingTensorIsNamed() throws {
        let error = try loadError { file in
            file.names.removeAll { $0 == "0.bias" }
            file.tensors["0.bias"] = nil
        }
        #expect(error?.description.contains("'0.bias' is missing") == true)
    }

    @Test func wrongShapeIsNamed() throws {
        let error = try loadError { $0.tensors["0.weight"] = .float32(Tensor(zeros: [3, 4])) }
        #expect(error?.description.contains("'0.weight' has shape [3, 4], expected [4, 3]") == true)
    }

    @Test func wrongDTypeIsNamed() throws {
        let error = try loadError { $0.tensors["1.running_mean"] = .int64(shape: [4], values: [0, 0, 0, 0]) }
        #expect(error?.description.contains("'1.running_mean' has dtype I64, expected F32") == true)
    }

    @Test func unexpectedTensorsAreListed() throws {
        let error = try loadError { $0.append("2.weight", .float32(Tensor(zeros: [1]))) }
        #expect(error?.description.contains("2.weight") == true)
    }

    @Test("Truncated, garbled and foreign-dtype files give errors naming the file")
    func corruptFiles() throws {
        let bytes = SafeTensors.encode(smallModel().stateFile())
        let cases: [(Data, String)] = [
            (bytes.prefix(5), "truncated"),
            (bytes.prefix(bytes.count - 3), "truncated"),
            (Data([0xFF, 0xFF, 0, 0, 0, 0, 0, 0]) + bytes.dropFirst(8), "truncated"),
            (Data(bytes.prefix(8)) + Data(repeating: 0x41, count: bytes.count - 8), "not a valid safetensors file"),
            (replacingFirst(Data("\"F32\"".utf8), with: Data("\"F16\"".utf8), in: bytes), "dtype F16"),
        ]
        for (data, expected) in cases {
            let path = temporaryPath("corrupt.safetensors")
            try data.write(to: URL(fileURLWithPath: path))
            do {
                _ = try SafeTensors.read(from: path)
                Issue.record("no error for a file that should say '\(expected)'")
            } catch let error as SafeTensorsError {
                #expect(error.description.contains(path))
                #expect(error.description.contains(expected), "\(error)")
            }
        }
    }

    @Test("Writing is atomic: no temporary file is left, and an unwritable folder is a clear error")
    func atomicWrite() throws {
        let path = temporaryPath("model.safetensors")
        try smallModel().save(to: path)
        let folder = URL(fileURLWithPath: path).deletingLastPathComponent().path
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder) == ["model.safetensors"])
        #expect(throws: SafeTensorsError.self) { try smallModel().save(to: "/nonexistent-folder/model.safetensors") }
    }
}

private func replacingFirst(_ pattern: Data, with replacement: Data, in data: Data) -> Data {
    var copy = data
    let range = copy.range(of: pattern)!
    copy.replaceSubrange(range, with: replacement)
    return copy
}
