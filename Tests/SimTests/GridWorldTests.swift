import Environments
import Foundation
import Sim
import Testing
import TestSupport

@Suite struct GridWorldTests {
    /// Follows `actions` from a reset and returns the return, the last result and the number of steps.
    func play(_ env: any Environment, seed: UInt64, _ actions: [Int]) -> (total: Float, last: StepResult) {
        _ = env.reset(seed: seed)
        var total: Float = 0
        var last = StepResult(reward: 0, terminated: false)
        for action in actions {
            last = env.step([Float(action)]).result
            total += last.reward
            if last.done { break }
        }
        return (total, last)
    }

    @Test("Every built-in map's optimal return (breadth-first search over position and key) is reached by the scripted policy",
          arguments: ["empty", "four-rooms", "key-door", "lava-crossing", "maze", "memory"])
    func optimalReturn(map: String) throws {
        for seed: UInt64 in [1, 2, 3] {
            let env = try GridWorld(options: ["map": map])
            _ = env.reset(seed: seed)
            let path = try #require(env.currentMap.shortestPath(cue: env.cue), "no path on \(map)")
            let (total, last) = play(TimeLimit(env, maxSteps: env.maxSteps), seed: seed, path)
            #expect(last.terminated && !last.truncated)
            #expect(env.info["success"] == 1)
            #expect(total == 1 - 0.9 * Float(path.count) / Float(env.maxSteps), "\(map) seed \(seed)")
        }
    }

    @Test("Known shortest paths: empty 8×8 takes 10 moves, key-door must fetch the key first")
    func knownPathLengths() throws {
        #expect(try GridWorld(options: ["map": "empty"]).layout.shortestPath()?.count == 10)
        let keyDoor = try GridWorld(options: ["map": "key-door"]).layout
        // Start (1,1) → key (3,4): 5 moves; key → door (5,3): 3 moves; door → goal (8,3): 3 moves.
        #expect(keyDoor.shortestPath()?.count == 11)
    }

    @Test("Keys open doors; walls and closed doors block; lava ends the episode with reward 0")
    func mechanics() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("mech-\(UUID().uuidString).txt").path
        try """
            ; a door, a key and lava
            #######
            #SDKLG#
            #######
            """.write(toFile: path, atomically: true, encoding: .utf8)
        // The goal is unreachable (the key lies behind the door): a clear error.
        #expect(throws: GridMapError.self) { _ = try GridWorld(options: ["map": path]) }

        try """
            #######
            #KSD.G#
            ##L####
            #######
            """.write(toFile: path, atomically: true, encoding: .utf8)
        let env = try GridWorld(options: ["map": path])
        _ = env.reset(seed: 0)
        _ = env.step([3])  // the door is closed and there is no key yet
        #expect(env.agent.x == 2)
        _ = env.step([2])  // pick up the key
        #expect(env.hasKey && env.agent.x == 1)
        _ = env.step([3]); _ = env.step([3])  // back to start, then through the door
        #expect(env.agent.x == 3 && env.currentMap[3, 1] == .openDoor)
        _ = env.step([0])  // wall above: stays
        #expect(env.agent.x == 3)
        #expect(env.agent.y == 1)
        _ = env.reset(seed: 0)
        let lava = env.step([1])  // lava below the start
        #expect(lava.result.terminated && lava.result.reward == 0 && env.info["success"] == 0)
    }

    @Test("Malformed maps are rejected with file, line and column")
    func malformedMaps() {
        func error(_ text: String) -> GridMapError? {
            do { _ = try GridMap.parse(text, file: "m.txt"); return nil } catch { return error as? GridMapError }
        }
        let noStart = error("#####\n#..G#\n#####")
        #expect(noStart?.message == "no start 'S'" && noStart?.file == "m.txt")
        #expect(error("#####\n#S..#\n#####")?.message == "no goal 'G'")
        let ragged = error("; comment\n#####\n#S.G#\n####\n")
        #expect(ragged?.line == 4 && ragged?.column == 5 && ragged?.message.contains("4 cells") == true)
        let unknown = error("#####\n#S?G#\n#####")
        #expect(unknown?.line == 2 && unknown?.column == 3 && unknown?.message == "a character that is not part of the map format")
        let unreachable = error("#####\n#S#G#\n#####")
        #expect(unreachable?.line == 2 && unreachable?.column == 2 && unreachable?.message.contains("no goal can be reached") == true)
        #expect(error("#####\n#SSG#\n#####")?.column == 3)
        #expect(unknown?.description == "m.txt:2:3: a character that is not part of the map format; use # wall, . floor, S start, G goal, L lava, K key, D door.")
    }

    @Test("The partial view hides what walls occlude and marks off-map cells unseen")
    func partialViewOcclusion() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("view-\(UUID().uuidString).txt").path
        try """
            #########
            #S.#...G#
            #.......#
            #########
            """.write(toFile: path, atomically: true, encoding: .utf8)
        let env = try GridWorld(options: ["map": path, "observation": "partial", "view": "7"])
        let observation = env.reset(seed: 0)
        let plane = 49, unseen = 11, goal = 1, wall = 0
        func slot(_ dx: Int, _ dy: Int) -> Int { (dy + 3) * 7 + dx + 3 }
        #expect(observation[wall * plane + slot(2, 0)] == 1)        // the wall two cells right is seen
        #expect(observation[unseen * plane + slot(3, 0)] == 1)      // the floor behind it is hidden
        #expect(observation[unseen * plane + slot(-2, 0)] == 1)     // off the map
        #expect(observation[unseen * plane + slot(0, 0)] == 0)
        #expect(observation.count == 12 * 49 + 1)
        _ = env.step([3])  // one right: the goal (6 cells away) is still beyond the wall and the view
        #expect((0..<plane).allSatisfy { observation[goal * plane + $0] == 0 })
    }

    @Test("Memory task: at the fork the observation is the same whichever cue was shown, so memoryless policies are at chance")
    func memoryNeedsMemory() throws {
        var forkObservations: [GridCell: [Float]] = [:]
        var seed: UInt64 = 0
        while forkObservations.count < 2 && seed < 100 {
            let env = try GridWorld(options: ["map": "memory"])
            var observation = env.reset(seed: seed)
            // Keep only episodes with choice A on top, so the fork looks the same apart from the cue.
            if env.layout[env.width - 2, 1] == .choiceA {
                let cueSeen: Float = observation[6 * 49 + 3 * 7 + 2] + observation[7 * 49 + 3 * 7 + 2]
                #expect(cueSeen == 1)  // the cue is in view at the start
                for _ in 0..<(env.width - 4) { observation = env.step([3]).observation }
                #expect(env.agent.x == env.width - 2)
                forkObservations[env.cue!] = observation
            }
            seed += 1
        }
        #expect(forkObservations.count == 2)
        #expect(forkObservations[.cueA] == forkObservations[.cueB])
    }

    @Test("maze_seed keeps one maze across episodes; without it every episode draws a new one")
    func seededMazes() throws {
        let fixed = try GridWorld(options: ["map": "maze", "size": "11", "maze_seed": "3"])
        _ = fixed.reset(seed: 1)
        let first = fixed.layout
        _ = fixed.reset(seed: 2)
        #expect(fixed.layout == first)
        let other = try GridWorld(options: ["map": "maze", "size": "11", "maze_seed": "4"])
        _ = other.reset(seed: 1)
        #expect(other.layout != first)
        let procedural = try GridWorld(options: ["map": "maze", "size": "11"])
        _ = procedural.reset(seed: 1)
        let a = procedural.layout
        _ = procedural.reset(seed: nil)
        #expect(procedural.layout != a)
    }

    @Test("Slippery floor replaces actions with probability p, deterministically per seed")
    func slippery() throws {
        let env = try GridWorld(options: ["map": "empty", "slip": "1"])
        var moves = Set<Int>()
        _ = env.reset(seed: 4)
        for _ in 0..<40 {
            let before = env.agent
            _ = env.step([3])
            moves.insert((env.agent.x - before.x) * 10 + (env.agent.y - before.y))
        }
        #expect(moves.count >= 3, "with slip=1 the 'right' action should go several ways, went \(moves)")
    }
}

@Suite struct GridWorldCellCodeTests {
    @Test("Cell codes expand to exactly the one-hot observation, step by step, full and partial views, doors opened and keys taken",
          arguments: [["map": "four-rooms"], ["map": "key-door"], ["map": "lava-crossing", "slip": "0.3"], ["map": "memory"],
                      ["map": "key-door", "observation": "partial", "view": "5"], ["map": "maze", "size": "9"],
                      ["map": "four-rooms", "random_start": "true"]])
    func codesExpandToOneHot(options: [String: String]) throws {
        let oneHot = try GridWorld(options: options)
        let compact = try GridWorld(options: options.merging(["encoding": "codes"]) { $1 })
        let layout = try #require(compact.observationKind.cellCodes)
        #expect(oneHot.observationKind == .binary)
        #expect(layout.count == compact.observationSpace.flatCount && layout.expandedCount == oneHot.observationSpace.flatCount)
        var expanded = [Float](repeating: -1, count: layout.expandedCount)
        func expectSame(_ planes: [Float], _ codes: [Float], _ place: String) {
            codes.withUnsafeBufferPointer { layout.expand($0.baseAddress!, into: &expanded) }
            #expect(expanded == planes, "\(options) \(place)")
        }
        // Scripted paths reach keys, doors and goals; random actions cover the rest.
        var rng = SeededGenerator(seed: 5)
        var keysTaken = 0
        for episode: UInt64 in 0..<6 {
            expectSame(oneHot.reset(seed: episode), compact.reset(seed: episode), "reset \(episode)")
            let path = episode % 2 == 0 ? (oneHot.currentMap.shortestPath(cue: oneHot.cue) ?? []) : []
            for t in 0..<60 {
                let action = [Float(t < path.count ? path[t] : rng.nextInt(below: 4))]
                let (planes, result) = oneHot.step(action)
                let (codes, compactResult) = compact.step(action)
                expectSame(planes, codes, "episode \(episode) step \(t)")
                #expect(result == compactResult && oneHot.stateChecksum == compact.stateChecksum)
                if oneHot.hasKey { keysTaken += 1 }
                if result.terminated { break }
            }
        }
        if options["map"] == "key-door" && options["observation"] == nil { #expect(keysTaken > 0, "no episode took the key") }
    }

    @Test("Codes are bytes in 0...31 and the checker holds codes to their layout")
    func codesAreValid() throws {
        let env = try GridWorld(options: ["map": "four-rooms", "encoding": "codes"])
        let observation = env.reset(seed: 1)
        let layout = try #require(env.observationKind.cellCodes)
        #expect(observation.withUnsafeBufferPointer { layout.isValid($0.baseAddress!) })
        #expect(observation.filter { $0 >= Float(CellCodes.markerBit) }.count == 1, "one agent")
        var bad = observation
        bad[3] = 13.5
        #expect(!bad.withUnsafeBufferPointer { layout.isValid($0.baseAddress!) })
        bad[3] = 14  // plane 13 of 12
        #expect(!bad.withUnsafeBufferPointer { layout.isValid($0.baseAddress!) })
        #expect(EnvironmentChecker.check(steps: 100) { try! GridWorld(options: ["map": "key-door", "encoding": "codes"]) }.isEmpty)
    }
}
