import DojoC
import Environments
import Foundation
import Sim

// MARK: The C interface (include/dojo.h)

/// Bytes through the C interface as a hostile caller would send them: the first bytes choose the environment id (or
/// one that does not exist), copies, threads and autoreset mode; then come options JSON text of a given length (any
/// bytes: not UTF-8, NULs, deep nesting, non-string values) and a sequence of calls: steps with actions as raw float
/// bit patterns (NaN, infinities, huge values) or as small numbers near the action space, resets, reset_copy, info,
/// render, episodes, autoreset changes, wrong buffer sizes, binding, recording and goal rewards. Every call may fail; none may trap,
/// and a successful step writes flags of 0 or 1 and finite rewards.
public func fuzzCInterface(_ data: Data) {
    var reader = ByteReader(data)
    let ids = EnvironmentRegistry.ids
    let choice = Int(reader.byte())
    let id = choice % (ids.count + 1) == ids.count ? "no-such-env" : ids[choice % (ids.count + 1)]
    let shape = reader.byte()
    let copies = Int32(shape % 4) + 1, threads = Int32(shape / 4 % 2) + 1
    let length = min(Int(reader.byte()) << 8 | Int(reader.byte()), reader.remaining)
    var options = Array(reader.bytes[reader.position..<reader.position + length]).map { CChar(bitPattern: $0) }
    reader.position += length
    options.append(0)
    guard let vector = dojo_vector_create(id, options, copies, threads) else {
        precondition(dojo_last_error() != nil, "dojo_vector_create failed without a message")
        return
    }
    guard let text = dojo_vector_describe(vector),
          let description = try? JSONSerialization.jsonObject(with: Data(String(cString: text).utf8)) as? [String: Any],
          let observationSize = description["observation_size"] as? Int, let actionWidth = description["action_width"] as? Int,
          let infoKeys = description["info_keys"] as? [String], let width = description["render_width"] as? Int,
          let height = description["render_height"] as? Int else {
        fatalError("dojo_vector_describe of a live vector is not the documented JSON: \(String(describing: dojo_last_error().map { String(cString: $0) }))")
    }
    let count = Int(copies)
    var observations = [Float](repeating: 0, count: count * observationSize), finals = observations
    var actions = [Float](repeating: 0, count: count * actionWidth)
    var rewards = [Float](repeating: 0, count: count), terminated = [UInt8](repeating: 0, count: count), truncated = terminated
    var infos = [Double](repeating: 0, count: count * infoKeys.count), info = [Double](repeating: 0, count: infoKeys.count)
    var returns = [Double](repeating: 0, count: count), lengths = [Int64](repeating: 0, count: count)
    var rgb = [UInt8](repeating: 0, count: width * height * 3)
    // Buffers for dojo_vector_bind, valid until the vector is destroyed; replays, removed once it has written them.
    let bound = BoundBuffers(copies: count, observationSize: observationSize, actionWidth: actionWidth, infoKeys: infoKeys.count)
    var replays: [String] = []
    defer {
        dojo_vector_destroy(vector)
        withExtendedLifetime(bound) {}
        for path in replays { unlink(path); unlink(path + ".partial") }
    }

    func checkStep(_ result: Int32, _ rewards: [Float], _ flags: [UInt8]) {
        guard result == 0 else { return }
        precondition(flags.allSatisfy { $0 <= 1 }, "a step wrote a flag that is not 0 or 1: \(flags)")
        precondition(rewards.allSatisfy(\.isFinite), "a step wrote a reward that is not finite: \(rewards)")
    }
    for _ in 0..<256 where reader.remaining > 0 {
        let operation = reader.byte()
        let copy = Int32(bitPattern: UInt32(reader.byte())) - 1  // -1...254: mostly outside, sometimes a copy
        switch operation & 15 {
        case 0:  // raw bit patterns
            for i in actions.indices { actions[i] = Float(bitPattern: UInt32(truncatingIfNeeded: reader.word())) }
            fallthrough
        case 1:
            if operation & 15 == 1 {  // small numbers: whole indices, and values around [-2, 2]
                for i in actions.indices { actions[i] = Float(Int(reader.byte()) - 64) / (operation & 16 == 0 ? 1 : 32) }
            }
            let result = operation & 32 == 0
                ? dojo_vector_step(vector, actions, Int64(actions.count), &observations, nil, Int64(observations.count), &rewards,
                                   &terminated, &truncated, Int64(count))
                : dojo_vector_step(vector, actions, Int64(actions.count), &observations, &finals, Int64(observations.count), &rewards,
                                   &terminated, &truncated, Int64(count))
            checkStep(result, rewards, terminated + truncated)
        case 2: _ = dojo_vector_reset(vector, reader.word(), &observations, Int64(observations.count))
        case 3:
            let seeds = (0..<count).map { _ in reader.word() }
            _ = dojo_vector_reset_seeds(vector, operation & 16 == 0 ? nil : seeds, Int64(count), &observations, Int64(observations.count))
        case 4:
            var seed = reader.word()
            observations.withUnsafeMutableBufferPointer { buffer in
                _ = operation & 16 == 0 ? dojo_vector_reset_copy(vector, copy, nil, buffer.baseAddress, Int64(observationSize))
                                        : dojo_vector_reset_copy(vector, copy, &seed, buffer.baseAddress, Int64(observationSize))
            }
        case 5: _ = dojo_vector_info(vector, copy, &info, Int64(info.count))
        case 6: _ = dojo_vector_infos(vector, &infos, Int64(infos.count))
        case 7: _ = dojo_vector_render(vector, copy, &rgb, Int64(rgb.count))
        case 8: _ = dojo_vector_set_autoreset(vector, Int32(reader.byte() % 4))
        case 9:
            if operation & 16 == 0 {
                _ = dojo_vector_episodes(vector, &returns, &lengths, Int64(count))
            } else {  // goal rewards of raw bit patterns, sometimes with a wrong count; refused unless a goal task
                var achieved = (0..<8).map { _ in Float(bitPattern: UInt32(truncatingIfNeeded: reader.word())) }, desired = achieved.reversed() as [Float]
                var goalRewards = [Float](repeating: 0, count: 4)
                let rows = Int64(reader.byte() % 5), goalsCount = rows * 2 + (operation & 32 == 0 ? 0 : 1)
                let result = dojo_vector_compute_reward(vector, &achieved, &desired, goalsCount, &goalRewards, rows)
                let isGoalTask = description["goal"] is [String: Any]
                precondition(result == (isGoalTask && operation & 32 == 0 ? 0 : -1),
                             "dojo_vector_compute_reward gave \(result) (goal task: \(isGoalTask), goals \(goalsCount), rows \(rows))")
            }
        case 10:  // wrong sizes and NULs: always refused
            let off = Int64(reader.byte() % 3) - 1
            let results = [
                dojo_vector_step(vector, actions, Int64(actions.count) + (off == 0 ? 1 : off), &observations, nil,
                                 Int64(observations.count), &rewards, &terminated, &truncated, Int64(count)),
                dojo_vector_step(vector, nil, Int64(actions.count), &observations, nil, Int64(observations.count), &rewards,
                                 &terminated, &truncated, Int64(count)),
                dojo_vector_reset(vector, 0, &observations, Int64(observations.count) + (off == 0 ? 1 : off)),
                dojo_vector_infos(vector, &infos, Int64.max),
                dojo_vector_render(vector, 0, nil, Int64(rgb.count)),
            ]
            precondition(results.allSatisfy { $0 == -1 }, "a call with a wrong size or a NULL buffer succeeded")
        case 11:  // record into the scratch folder, or stop recording
            if operation & 16 == 0 {
                let path = scratchFolder + "/c-\(replays.count).replay"
                replays.append(path)
                _ = dojo_vector_record(vector, copy, path)
            } else {
                _ = dojo_vector_record(vector, copy, nil)
            }
        case 12:
            if operation & 16 == 0 {
                _ = dojo_vector_bind(vector, bound.actions, Int64(bound.actionCount), bound.observations, bound.finals,
                                     Int64(bound.observationCount), bound.rewards, bound.flags, bound.flags + count, Int64(count))
            } else {
                _ = dojo_vector_bind_infos(vector, operation & 32 == 0 ? nil : bound.infos, Int64(bound.infoCount))
            }
        default:
            for i in 0..<bound.actionCount { bound.actions[i] = Float(bitPattern: UInt32(reader.byte()) << 24 | 0x3F0000) }
            let result = dojo_vector_step_bound(vector)
            checkStep(result, Array(UnsafeBufferPointer(start: bound.rewards, count: count)),
                      Array(UnsafeBufferPointer(start: bound.flags, count: 2 * count)))
        }
    }
}

/// Caller-owned buffers for dojo_vector_bind and dojo_vector_bind_infos.
final class BoundBuffers {
    let actionCount: Int, observationCount: Int, infoCount: Int
    let actions: UnsafeMutablePointer<Float>, observations: UnsafeMutablePointer<Float>, finals: UnsafeMutablePointer<Float>
    let rewards: UnsafeMutablePointer<Float>, flags: UnsafeMutablePointer<UInt8>, infos: UnsafeMutablePointer<Double>

    init(copies: Int, observationSize: Int, actionWidth: Int, infoKeys: Int) {
        actionCount = copies * actionWidth
        observationCount = copies * observationSize
        infoCount = copies * infoKeys
        actions = .allocate(capacity: max(actionCount, 1)); actions.initialize(repeating: 0, count: max(actionCount, 1))
        observations = .allocate(capacity: max(observationCount, 1)); observations.initialize(repeating: 0, count: max(observationCount, 1))
        finals = .allocate(capacity: max(observationCount, 1)); finals.initialize(repeating: 0, count: max(observationCount, 1))
        rewards = .allocate(capacity: copies); rewards.initialize(repeating: 0, count: copies)
        flags = .allocate(capacity: 2 * copies); flags.initialize(repeating: 0, count: 2 * copies)
        infos = .allocate(capacity: max(infoCount, 1)); infos.initialize(repeating: 0, count: max(infoCount, 1))
    }

    deinit {
        actions.deallocate(); observations.deallocate(); finals.deallocate(); rewards.deallocate(); flags.deallocate(); infos.deallocate()
    }
}
