/// Checks an environment against the contract, like Gymnasium's `check_env`: observations inside their space and
/// finite, rewards finite, seeded resets and steps deterministic (bitwise, checksums included), the reset/step
/// contract, rendering, and the self-description (``EnvironmentMetadata``: action names, keys, metrics read from an
/// `info` that reports them, intermediate frames as many as it declares) and, for a goal-conditioned environment, a
/// goal dictionary whose `computeReward` gives every step's reward exactly. Returns one message per problem; an empty list means it passed.
public enum EnvironmentChecker {
    public static func check(seed: UInt64 = 7, steps: Int = 600, make: () throws -> any Environment) rethrows -> [String] {
        var problems: [String] = []
        let a = try make(), b = try make()
        let id = a.id
        let observationSize = a.observationSpace.flatCount, actionWidth = a.actionSpace.actionWidth
        if a.observationSpace != b.observationSpace || a.actionSpace != b.actionSpace {
            problems.append("\(id): two instances declare different spaces")
        }
        var observationA = [Float](repeating: .nan, count: observationSize)
        var observationB = [Float](repeating: .nan, count: observationSize)
        func inspect(_ observation: [Float], _ where_: String) {
            if observation.contains(where: { !$0.isFinite }) { problems.append("\(id): non-finite observation \(where_)") }
            if a.observationKind == .binary, observation.contains(where: { $0 != 0 && $0 != 1 }) {
                problems.append("\(id): declares binary observations, but the observation \(where_) holds values other than 0 and 1")
            }
            if let codes = a.observationKind.cellCodes,
               codes.count != observation.count || !observation.withUnsafeBufferPointer({ codes.isValid($0.baseAddress!) }) {
                problems.append("\(id): declares cell codes, but the observation \(where_) is not \(codes.cells) codes of \(codes.planes) planes "
                                + "and \(codes.extras) more values")
            }
            if !observation.withUnsafeBufferPointer({ a.observationSpace.contains($0.baseAddress!) }) {
                problems.append("\(id): observation \(where_) is outside \(a.observationSpace)")
            }
        }
        a.reset(seed: seed, observation: &observationA)
        b.reset(seed: seed, observation: &observationB)
        inspect(observationA, "after reset")
        if observationA.map(\.bitPattern) != observationB.map(\.bitPattern) || a.stateChecksum != b.stateChecksum {
            problems.append("\(id): two resets with seed \(seed) differ")
        }
        let firstChecksum = a.stateChecksum
        let metadata = a.metadata
        problems += metadata.problems(actionSpace: a.actionSpace, infoKeys: Set(a.info.keys)).map { "\(id): \($0)" }
        // Intermediate frames: as many per step as declared, and none once the hook is removed.
        var framesSeen = 0
        let frames = innermostEnvironment(b) as? any IntermediateFrames
        if metadata.framesPerStep > 1 && frames == nil {
            problems.append("\(id): \(metadata.framesPerStep) frames per step, but no IntermediateFrames hook to draw them")
        }
        frames?.onIntermediateFrame = { framesSeen += 1 }
        defer { frames?.onIntermediateFrame = nil }
        // Goal-conditioned: the layout is the observation space's, and each step's reward is computeReward's of its goals.
        let goals = a.goalConditioned
        if let goals {
            if GoalLayout(space: a.observationSpace) != goals.goalLayout {
                problems.append("\(id): goalLayout \(goals.goalLayout) is not the layout of \(a.observationSpace)")
            }
        }
        var recomputed: Float = 0
        var actionRNG = SeededGenerator(seed: seed, stream: 99)
        var action = [Float](repeating: 0, count: actionWidth)
        var episodes = 0
        for step in 1...steps where problems.count < 10 {
            a.actionSpace.sample(into: &action, using: &actionRNG)
            let resultA = a.step(action, observation: &observationA)
            let resultB = b.step(action, observation: &observationB)
            inspect(observationA, "at step \(step)")
            if !resultA.reward.isFinite { problems.append("\(id): non-finite reward at step \(step)") }
            if let goals, goals.goalLayout.flatCount == observationSize {
                let layout = goals.goalLayout
                observationA.withUnsafeBufferPointer { o in
                    goals.computeReward(achieved: o.baseAddress! + layout.achievedOffset, desired: o.baseAddress! + layout.desiredOffset,
                                        count: 1, into: &recomputed)
                }
                if recomputed.bitPattern != resultA.reward.bitPattern {
                    problems.append("\(id): step \(step) rewarded \(resultA.reward), computeReward of its goals gives \(recomputed)")
                }
            }
            if frames != nil && framesSeen != metadata.framesPerStep - 1 {
                problems.append("\(id): step \(step) drew \(framesSeen) intermediate frames, metadata declares \(metadata.framesPerStep - 1)")
            }
            framesSeen = 0
            if resultA != resultB || observationA.map(\.bitPattern) != observationB.map(\.bitPattern)
                || a.stateChecksum != b.stateChecksum {
                problems.append("\(id): identically seeded instances diverge at step \(step)")
                break
            }
            if resultA.done {
                let end = Set(a.info.keys)
                for metric in metadata.metrics where !end.contains(metric.info) {
                    problems.append("\(id): info at the episode's end lacks \"\(metric.info)\" (metric \(metric.name))")
                }
                episodes += 1
                a.reset(seed: nil, observation: &observationA)
                b.reset(seed: nil, observation: &observationB)
                inspect(observationA, "after reset \(episodes)")
            }
        }
        // Reseeding brings back the first state exactly.
        a.reset(seed: seed, observation: &observationA)
        if a.stateChecksum != firstChecksum { problems.append("\(id): reset(seed: \(seed)) does not restore the first state") }
        let frame = a.renderFrame()
        if frame.width != a.renderSize.width || frame.height != a.renderSize.height {
            problems.append("\(id): render produced \(frame.width)×\(frame.height), renderSize says \(a.renderSize)")
        }
        let firstPixel = frame.pixel(x: 0, y: 0)
        let blank = (0..<frame.height).allSatisfy { y in (0..<frame.width).allSatisfy { x in frame.pixel(x: x, y: y) == firstPixel } }
        if blank {
            problems.append("\(id): render drew a blank frame")
        }
        return problems
    }
}
