import Agents
import Foundation
import Neural
import Sim
import Testing
import TestSupport
@testable import Training

/// Lean replay memory: bit-packed binary rows, compressed checkpoint sections, each observation stored once.
@Suite struct ReplayMemoryTests {
    init() { pinBLASToOneThread() }

    /// `rows` random rows of 0/1 values, `width` each.
    private func binaryRows(_ rows: Int, _ width: Int, seed: UInt64) -> [Float] {
        var rng = SeededGenerator(seed: seed)
        return (0..<(rows * width)).map { _ in rng.nextDouble() < 0.1 ? 1 : 0 }
    }

    @Test("Binary rows pack to bits and read back exactly, at widths that are and are not multiples of 8",
          arguments: [1, 8, 13, 4333])
    func bitsRoundTrip(width: Int) {
        let values = binaryRows(5, width, seed: UInt64(width))
        let rows = ObservationRows(rows: 5, width: width, kind: .binary)
        #expect(rows.storesBits && rows.byteCount == 5 * ((width + 7) / 8))
        for r in 0..<5 { values.withUnsafeBufferPointer { rows.write($0.baseAddress! + r * width, row: r) } }
        var read = [Float](repeating: -1, count: width)
        for r in 0..<5 {
            rows.read(row: r, into: &read)
            #expect(read == Array(values[(r * width)..<((r + 1) * width)]), "row \(r)")
        }
    }

    @Test("Checkpointed rows come back exactly; an altered or cut stream, or rows of the other kind, are refused by name")
    func checkpointRoundTrip() throws {
        let width = 4333, count = 40
        let values = binaryRows(count, width, seed: 9)
        let rows = ObservationRows(rows: count, width: width, kind: .binary)
        for r in 0..<count { values.withUnsafeBufferPointer { rows.write($0.baseAddress! + r * width, row: r) } }
        var file = SafeTensors.File()
        rows.save(rows: count, as: "buffer.observations", into: &file)
        guard case .uint8(_, let stream)? = file.tensors["buffer.observations_bits_zlib"] else {
            Issue.record("no compressed tensor"); return
        }

        let restored = ObservationRows(rows: count, width: width, kind: .binary)
        restored.restore(try restored.saved(rows: count, as: "buffer.observations", in: file, path: "state.safetensors"))
        var read = [Float](repeating: 0, count: width)
        for r in 0..<count {
            restored.read(row: r, into: &read)
            #expect(read == Array(values[(r * width)..<((r + 1) * width)]))
        }

        func refusal(_ altered: [UInt8]) -> String? {
            var bad = file
            bad.tensors["buffer.observations_bits_zlib"] = .uint8(shape: [altered.count], values: altered)
            do { _ = try restored.saved(rows: count, as: "buffer.observations", in: bad, path: "state.safetensors"); return nil }
            catch { return "\(error)" }
        }
        var flipped = stream; flipped[stream.count / 2] ^= 0x5A
        for (name, altered) in [("cut", Array(stream.dropLast(7))), ("flipped", flipped), ("extended", stream + [0]),
                                ("empty", [])] {
            let message = refusal(altered)
            #expect(message?.contains("buffer.observations_bits_zlib") == true, "\(name): \(message ?? "accepted")")
        }
        // Fewer rows than asked for is a wrong size too.
        #expect(throws: SafeTensorsError.self) { _ = try restored.saved(rows: count + 1, as: "buffer.observations", in: file, path: "s") }
        // Float rows do not restore from bits, nor bits from floats.
        let floats = ObservationRows(rows: count, width: width, kind: .continuous)
        #expect(throws: SafeTensorsError.self) { _ = try floats.saved(rows: count, as: "buffer.observations", in: file, path: "s") }

        // Earlier checkpoints kept one byte per value: still read, into bits.
        var legacy = SafeTensors.File()
        legacy.append("buffer.observations", .uint8(shape: [count * width], values: values.map { UInt8($0) }))
        let fromLegacy = ObservationRows(rows: count, width: width, kind: .binary)
        fromLegacy.restore(try fromLegacy.saved(rows: count, as: "buffer.observations", in: legacy, path: "s"))
        fromLegacy.read(row: count - 1, into: &read)
        #expect(read == Array(values[((count - 1) * width)...]))
    }

    @Test("n-step replay stores each observation once and its transitions equal a naive replay's, across wrap and eviction",
          arguments: [(1, 1), (3, 2)])
    func storedOnce(nStep: Int, copies: Int) throws {
        var config = DQNConfig()
        config.nStep = nStep
        config.gamma = 0.5
        config.bufferSize = 60
        config.prioritizedReplay = false
        let width = 3
        var initialization = SeededGenerator(seed: 1)
        let learner = FeedForwardQLearner(hyperparameters: config, observationSpace: .box(low: -1000, high: 1000, shape: [width]),
                                          observationKind: .continuous, actionSpace: .discrete(2), copies: copies,
                                          rng: &initialization)
        // Observation (copy, episode, step); episodes of random length, some of 1-3 steps so rows run out early.
        var rng = SeededGenerator(seed: 4)
        var episode = [Int](repeating: 0, count: copies), t = [Int](repeating: 0, count: copies)
        var lengths = (0..<copies).map { _ in 1 + rng.nextInt(below: 12) }
        func observation(_ c: Int) -> [Float] { [Float(c), Float(episode[c]), Float(t[c])] }
        var current = (0..<copies).flatMap { observation($0) }
        learner.begin(observations: current)
        // The naive replay: every emitted transition with its own copies of both observations.
        var naive: [(obs: [Float], next: [Float], reward: Float, terminated: Float, discount: Float)] = []
        var queues = [[(obs: [Float], reward: Float)]](repeating: [], count: copies)
        var rowsExpected = copies
        for _ in 0..<400 {
            for c in 0..<copies {
                let obs = Array(current[(c * width)..<((c + 1) * width)])
                t[c] += 1
                let reward = Float(rng.nextInt(below: 5))
                let done = t[c] == lengths[c], terminated = done && rng.nextDouble() < 0.5
                let next = observation(c)
                queues[c].append((obs, reward))
                func emit(_ terminated: Bool) {
                    var total: Float = 0, discount: Float = 1
                    for step in queues[c] { total += discount * step.reward; discount *= 0.5 }
                    naive.append((queues[c][0].obs, next, total, terminated ? 1 : 0, discount))
                    queues[c].removeFirst()
                }
                if done {
                    while !queues[c].isEmpty { emit(terminated) }
                    episode[c] += 1; t[c] = 0; lengths[c] = 1 + rng.nextInt(below: 12)
                    rowsExpected += 2
                } else {
                    if queues[c].count == nStep { emit(false) }
                    rowsExpected += 1
                }
                let after = observation(c)
                next.withUnsafeBufferPointer { nextPointer in
                    obs.withUnsafeBufferPointer { obsPointer in
                        after.withUnsafeBufferPointer { afterPointer in
                            learner.store(copy: c, observation: obsPointer.baseAddress!, action: 0, reward: reward,
                                          next: nextPointer.baseAddress!, current: afterPointer.baseAddress!, done: done,
                                          terminated: terminated)
                        }
                    }
                }
                current.replaceSubrange((c * width)..<((c + 1) * width), with: after)
            }
            // One row per step plus one per episode start; the held transitions are the newest naive ones.
            let buffer = learner.buffer
            #expect(buffer.rowsWritten == rowsExpected)
            #expect(buffer.count <= min(naive.count, buffer.capacity))
            var obs = [Float](repeating: 0, count: width), next = obs
            for k in 0..<buffer.count {
                let slot = buffer.slot(ofOldest: k), expected = naive[naive.count - buffer.count + k]
                buffer.readObservation(buffer.observationRows[slot], into: &obs)
                buffer.readObservation(buffer.nextObservationRows[slot], into: &next)
                #expect(obs == expected.obs && next == expected.next && buffer.rewards[slot] == expected.reward
                        && buffer.terminated[slot] == expected.terminated && buffer.discounts[slot] == expected.discount,
                        "transition \(k) of \(buffer.count)")
                if obs != expected.obs || next != expected.next { return }
            }
        }
        // The ring wrapped; short episodes cost rows, but most transitions stay.
        #expect(naive.count > 3 * config.bufferSize && learner.buffer.count >= config.bufferSize * 3 / 4)
    }
}

@Suite struct CellCodeRowsTests {
    @Test("Cell-code rows keep one byte per value, read back exactly and checkpoint as a zlib stream; a code above 31 or a cut stream is refused")
    func codeRowsRoundTrip() throws {
        let layout = CellCodes(cells: 361, planes: 12, markerPlane: 10, extras: 1)
        let width = layout.count, count = 30
        var rng = SeededGenerator(seed: 4)
        let values = (0..<(count * width)).map { i in Float(i % width == width - 1 ? rng.nextInt(below: 2) : rng.nextInt(below: 32)) }
        let rows = ObservationRows(rows: count, width: width, kind: .cellCodes(layout))
        #expect(rows.storesBytes && !rows.storesBits && rows.byteCount == count * width)
        for r in 0..<count { values.withUnsafeBufferPointer { rows.write($0.baseAddress! + r * width, row: r) } }
        var read = [Float](repeating: -1, count: width)
        for r in 0..<count {
            rows.read(row: r, into: &read)
            #expect(read == Array(values[(r * width)..<((r + 1) * width)]), "row \(r)")
        }
        var file = SafeTensors.File()
        rows.save(rows: count, as: "buffer.observations", into: &file)
        let restored = ObservationRows(rows: count, width: width, kind: .cellCodes(layout))
        restored.restore(try restored.saved(rows: count, as: "buffer.observations", in: file, path: "state.safetensors"))
        restored.read(row: count - 1, into: &read)
        #expect(read == Array(values[((count - 1) * width)...]))

        func refusal(_ bytes: [UInt8]) -> String? {
            var bad = SafeTensors.File()
            bad.append("buffer.observations_bytes_zlib", .uint8(shape: [bytes.count], values: bytes))
            do { _ = try restored.saved(rows: count, as: "buffer.observations", in: bad, path: "state.safetensors"); return nil }
            catch { return "\(error)" }
        }
        var above = [UInt8](repeating: 3, count: count * width)
        above[17] = 32
        let tooLarge = above.withUnsafeBytes { Zlib.compress($0, level: 1) }
        #expect(refusal(tooLarge)?.contains("largest cell code") == true)
        guard case .uint8(_, let stream)? = file.tensors["buffer.observations_bytes_zlib"] else { Issue.record("no stream"); return }
        #expect(refusal(Array(stream.dropLast(5)))?.contains("buffer.observations_bytes_zlib") == true)
        // Bits do not restore into byte rows.
        let binary = ObservationRows(rows: count, width: width, kind: .binary)
        #expect(throws: SafeTensorsError.self) { _ = try binary.saved(rows: count, as: "buffer.observations", in: file, path: "s") }
    }
}
