import Foundation
import CAllocationCounter
import CBLAS
import Neural
import SeededRandom

/// Heap allocations made by the calling thread while `body` runs (counted by an allocator shim linked into the test
/// executable).
public func allocationCount(_ body: () -> Void) -> Int {
    dojo_allocation_counting_begin()
    body()
    return dojo_allocation_counting_end()
}

/// Pins OpenBLAS to one thread, as the determinism contract requires of tests. Idempotent.
public func pinBLASToOneThread() { openblas_set_num_threads(1) }

/// `count` standard-normal floats from `rng`, scaled.
public func randomArray(_ count: Int, scale: Float = 1, _ rng: inout SeededGenerator) -> [Float] {
    (0..<count).map { _ in Float(rng.nextGaussian()) * scale }
}

/// A file's bytes (under the key ""), or every file below a folder with its bytes, symbolic links by their target:
/// compared before and after a command to show it changed nothing.
public func folderSnapshot(_ path: String) -> [String: Data] {
    var isFolder: ObjCBool = false
    guard FileManager.default.fileExists(atPath: path, isDirectory: &isFolder) else { return [:] }
    guard isFolder.boolValue else { return ["": FileManager.default.contents(atPath: path) ?? Data()] }
    var files: [String: Data] = [:]
    let enumerator = FileManager.default.enumerator(atPath: path)
    while let relative = enumerator?.nextObject() as? String {
        let full = path + "/" + relative
        if let target = try? FileManager.default.destinationOfSymbolicLink(atPath: full) { files[relative] = Data(target.utf8); continue }
        if let data = FileManager.default.contents(atPath: full) { files[relative] = data }
    }
    return files
}
