import Foundation
import Testing

@Suite(.serialized) struct BenchCLITests {
    @Test("bench envs refuses bad --threads, --copies, --seconds and --only with what to type instead",
          arguments: [(["--threads", "0"], "--threads must be at least 1"),
                      (["--copies", "8,abc"], "--copies takes positive whole numbers"),
                      (["--copies", "0"], "--copies takes positive whole numbers"),
                      (["--seconds", "nan"], "--seconds must be a positive number"),
                      (["--only", "pong"], "unknown configuration 'pong'; choose from cartpole")])
    func badArguments(arguments: [String], message: String) throws {
        let result = try runDojo(["bench", "envs"] + arguments, timeout: 30)
        #expect(result.status != 0 && !result.signalled, "status \(result.status): \(result.output)")
        #expect(result.output.contains(message), "\(result.output)")
    }

    @Test("bench envs --busy measures the largest count quiet and busy, on 1 and 2 threads, with the ratios")
    func busyRows() throws {
        let result = try runDojo(["bench", "envs", "--only", "cartpole", "--copies", "16", "--threads", "2", "--busy",
                                  "--seconds", "0.02", "--json"], timeout: 60)
        #expect(result.status == 0, "\(result.output)")
        struct Row: Decodable { let copies: Int; let threads: Int; let busy: Bool; let stepsPerSecond: Double; let speedup: Double? }
        let rows = try JSONDecoder().decode([Row].self, from: Data(result.output.utf8))
        let runs = rows.map { "\($0.threads)\($0.busy ? "b" : "q")" }
        let cores = min(2, ProcessInfo.processInfo.activeProcessorCount)
        #expect(runs == ["1q", "\(2)q", "1b", "\(2)b"] || cores < 2, "\(runs)")
        #expect(rows.allSatisfy { $0.copies == 16 && $0.stepsPerSecond > 0 })
        #expect(rows.filter { $0.threads == 2 }.allSatisfy { $0.speedup != nil })
    }

    @Test("bench envs reports the threads it used: never more than the machine's cores")
    func threadsUsed() throws {
        let result = try runDojo(["bench", "envs", "--only", "cartpole", "--copies", "16", "--threads", "64",
                                  "--seconds", "0.02", "--json"], timeout: 60)
        #expect(result.status == 0, "\(result.output)")
        struct Row: Decodable { let threads: Int }
        let rows = try JSONDecoder().decode([Row].self, from: Data(result.output.utf8))
        let cores = ProcessInfo.processInfo.activeProcessorCount
        #expect(rows.map(\.threads).max() == min(64, cores), "\(rows.map(\.threads))")
    }
}
