import Foundation
import Sim

/// Encodes frames into a video file (`.mp4`: H.264; `.gif`: palette-optimized) by piping raw RGBA frames to
/// `ffmpeg`. Frames must all have the first frame's size. The file is written under a temporary name and renamed
/// when `finish()` succeeds, so a failed export leaves nothing behind.
public final class VideoWriter {
    public enum Failure: Error, CustomStringConvertible {
        case ffmpegMissing
        case unsupportedExtension(String)
        case ffmpegFailed(status: Int32, output: String)
        public var description: String {
            switch self {
            case .ffmpegMissing:
                return "ffmpeg is not installed; install it (sudo apt-get install ffmpeg) or write PNG frames with --frames DIR"
            case .unsupportedExtension(let path):
                return "\(path): the video must end in .mp4 or .gif"
            case .ffmpegFailed(let status, let output):
                return "ffmpeg failed while writing the video (exit \(status)): "
                    + "\(output.suffix(400).trimmingCharacters(in: .whitespacesAndNewlines)); check the output path and the ffmpeg installation"
            }
        }
    }

    public let path: String
    private let temporary: String
    private let process = Process()
    private let input = Pipe()
    private let errors = Pipe()
    private var size: (width: Int, height: Int)?
    private let framesPerSecond: Int

    /// The `ffmpeg` executable on PATH, if any.
    public static var ffmpeg: String? { executable("ffmpeg") }

    static func executable(_ name: String) -> String? {
        let paths = (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin").split(separator: ":")
        return paths.map { "\($0)/\(name)" }.first { FileManager.default.isExecutableFile(atPath: $0) }
    }

    public init(path: String, framesPerSecond: Int) throws {
        let ext = (path as NSString).pathExtension.lowercased()
        guard ext == "mp4" || ext == "gif" else { throw Failure.unsupportedExtension(path) }
        guard let ffmpeg = Self.ffmpeg else { throw Failure.ffmpegMissing }
        self.path = path
        self.framesPerSecond = framesPerSecond
        temporary = (path as NSString).deletingPathExtension + ".partial." + ext
        process.executableURL = URL(fileURLWithPath: ffmpeg)
        process.standardInput = input
        process.standardOutput = FileHandle.nullDevice
        process.standardError = errors
        // Writing to an ffmpeg that has exited would otherwise kill dojo with SIGPIPE, silently (exit status 141);
        // ignored, the write fails with EPIPE and `append` reports ffmpeg's own error.
        signal(SIGPIPE, SIG_IGN)
    }

    /// Adds one frame (starting ffmpeg at the first).
    public func append(_ frame: Canvas) throws {
        if size == nil {
            size = (frame.width, frame.height)
            // Even dimensions for H.264's 4:2:0 chroma; GIF gets its own palette.
            let filter = path.lowercased().hasSuffix(".gif")
                ? "split[a][b];[a]palettegen[p];[b][p]paletteuse"
                : "pad=ceil(iw/2)*2:ceil(ih/2)*2,format=yuv420p"
            process.arguments = ["-y", "-loglevel", "error", "-f", "rawvideo", "-pixel_format", "rgba",
                                 "-video_size", "\(frame.width)x\(frame.height)", "-framerate", "\(framesPerSecond)",
                                 "-i", "-", "-vf", filter] + (path.lowercased().hasSuffix(".mp4") ? ["-c:v", "libx264"] : [])
                + [temporary]
            try process.run()
        }
        precondition(frame.width == size!.width && frame.height == size!.height,
                     "video frames must keep the first frame's size \(size!), got \(frame.width)×\(frame.height)")
        do {
            try input.fileHandleForWriting.write(contentsOf: Data(frame.pixels))
        } catch {
            // ffmpeg stopped reading: it has failed; report its exit status and message rather than the broken pipe.
            try? input.fileHandleForWriting.close()
            process.waitUntilExit()
            let output = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            try? FileManager.default.removeItem(atPath: temporary)
            throw Failure.ffmpegFailed(status: process.terminationStatus, output: output.isEmpty ? "\(error)" : output)
        }
    }

    /// Closes the stream, waits for ffmpeg and moves the file into place.
    public func finish() throws {
        guard size != nil else { return }
        try input.fileHandleForWriting.close()
        process.waitUntilExit()
        let output = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        guard process.terminationStatus == 0 else {
            try? FileManager.default.removeItem(atPath: temporary)
            throw Failure.ffmpegFailed(status: process.terminationStatus, output: output)
        }
        _ = try? FileManager.default.removeItem(atPath: path)
        try FileManager.default.moveItem(atPath: temporary, toPath: path)
    }
}
