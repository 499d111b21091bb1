import Foundation
import Testing

@Suite(.serialized) struct VideoCLITests {
    func temporaryPath(_ name: String) -> String {
        FileManager.default.temporaryDirectory.appendingPathComponent("\(UUID().uuidString)-\(name)").path
    }

    @Test("--fps that is not a number, or out of range, is refused with the valid range",
          arguments: ["nan", "-5", "0", "inf", "5000"])
    func badFramesPerSecond(fps: String) throws {
        let video = temporaryPath("out.mp4")
        let result = try runDojo(["watch", "cartpole", "--headless", "--video", video, "--max-frames", "5", "--fps=\(fps)"],
                                 timeout: 30)
        #expect(result.status != 0 && !result.signalled, "status \(result.status): \(result.output)")
        #expect(result.output.contains("--fps must be a number of frames per second from 1 to 1000"), "\(result.output)")
        #expect(!FileManager.default.fileExists(atPath: video))
        // The window mode checks it too (before looking for a display).
        let window = try runDojo(["watch", "cartpole", "--max-frames", "5", "--fps=\(fps)"], timeout: 30)
        #expect(window.status != 0 && !window.signalled && window.output.contains("--fps must be"), "\(window.output)")
    }

    @Test("A video into a folder that does not exist is refused up front, naming the folder")
    func videoIntoMissingFolder() throws {
        let folder = temporaryPath("missing")
        let result = try runDojo(["watch", "cartpole", "--headless", "--video", folder + "/out.mp4", "--max-frames", "5"], timeout: 30)
        #expect(result.status != 0 && !result.signalled, "status \(result.status): \(result.output)")
        #expect(result.output.contains("the folder '\(folder)' does not exist"), "\(result.output)")
    }

    @Test("Frames under a path that is a file are refused up front; a missing frames folder is created")
    func framesFolder() throws {
        let file = temporaryPath("file")
        try "not a folder".write(toFile: file, atomically: true, encoding: .utf8)
        let underFile = try runDojo(["watch", "cartpole", "--headless", "--frames", file + "/frames", "--max-frames", "2"], timeout: 30)
        #expect(underFile.status != 0 && !underFile.signalled, "status \(underFile.status): \(underFile.output)")
        #expect(underFile.output.contains("cannot create the folder"), "\(underFile.output)")
        let isFile = try runDojo(["watch", "cartpole", "--headless", "--frames", file, "--max-frames", "2"], timeout: 30)
        #expect(isFile.status != 0 && isFile.output.contains("is a file, not a folder"), "\(isFile.output)")
        let fresh = temporaryPath("new") + "/deeper/frames"
        let created = try runDojo(["watch", "cartpole", "--headless", "--frames", fresh, "--max-frames", "2"], timeout: 30)
        #expect(created.status == 0, "\(created.output)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: fresh).count == 3)  // the start and 2 steps
        // A second export into the same folder would overwrite the first one's frames: refused, nothing changed.
        let first = try Data(contentsOf: URL(fileURLWithPath: fresh + "/000000.png"))
        let again = try runDojo(["watch", "cartpole", "--headless", "--frames", fresh, "--max-frames", "2", "--seed", "5"], timeout: 30)
        #expect(again.status != 0 && again.output.contains("already holds 3 PNG file(s)"), "\(again.output)")
        #expect(try Data(contentsOf: URL(fileURLWithPath: fresh + "/000000.png")) == first)
    }

    @Test("An existing video file is refused and left as it was")
    func existingVideoKept() throws {
        let video = temporaryPath("kept.mp4")
        try "a user's file".write(toFile: video, atomically: true, encoding: .utf8)
        let result = try runDojo(["watch", "cartpole", "--headless", "--video", video, "--max-frames", "2"], timeout: 30)
        #expect(result.status != 0 && !result.signalled && result.output.contains("already exists"), "\(result.output)")
        #expect(try String(contentsOfFile: video, encoding: .utf8) == "a user's file")
    }

    @Test("Highway exports draw the simulation frames between decisions (highway-fast: 5 per decision), at its frame rate")
    func highwayFramesBetweenDecisions() throws {
        let folder = temporaryPath("highway-frames")
        let result = try runDojo(["watch", "highway", "-o", "scenario=highway-fast", "--headless", "--frames", folder,
                                  "--max-steps", "2"], timeout: 60)
        #expect(result.status == 0 && result.output.contains("wrote 11 frames of 2 steps"), "\(result.output)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder).count == 11)
        // --max-frames, the older name, still works and counts steps too.
        let older = try runDojo(["watch", "cartpole", "--headless", "--frames", temporaryPath("old"), "--max-frames", "2"], timeout: 30)
        #expect(older.status == 0 && older.output.contains("wrote 3 frames of 2 steps"), "\(older.output)")
    }

    @Test("When ffmpeg fails, dojo reports its exit status and message instead of dying of SIGPIPE")
    func ffmpegFailureReported() throws {
        let bin = temporaryPath("bin")
        try FileManager.default.createDirectory(atPath: bin, withIntermediateDirectories: true)
        let fake = bin + "/ffmpeg"
        try "#!/bin/sh\necho 'fake ffmpeg: cannot encode' >&2\nexit 3\n".write(toFile: fake, atomically: true, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: fake)
        let video = temporaryPath("out.mp4")
        let path = bin + ":" + (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin")
        let result = try runDojo(["watch", "cartpole", "--headless", "--video", video, "--max-frames", "50"],
                                 adding: ["PATH": path], timeout: 30)
        #expect(result.status == 1 && !result.signalled, "status \(result.status): \(result.output)")
        #expect(result.output.contains("ffmpeg failed") && result.output.contains("exit 3")
                && result.output.contains("fake ffmpeg: cannot encode"), "\(result.output)")
        #expect(!FileManager.default.fileExists(atPath: video))
    }
}
