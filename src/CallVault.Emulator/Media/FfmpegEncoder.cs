using System.Diagnostics;
using CallVault.Emulator.Recordings;

namespace CallVault.Emulator.Media;

/// <summary>
/// Encodes a generated WAV into MP3 or MP4 with ffmpeg (Debian package <c>ffmpeg</c>), for tone recordings in those
/// formats. Without ffmpeg such a request fails with a clear message; synthetic media needs no encoder.
/// </summary>
internal sealed class FfmpegEncoder(string ffmpegPath, string workFolder)
{
    public IMediaSource Encode(ToneWaveMedia wave, string format, bool video)
    {
        Directory.CreateDirectory(workFolder);
        var name = Guid.NewGuid().ToString("N");
        var input = Path.Combine(workFolder, name + ".wav");
        var output = Path.Combine(workFolder, name + "." + format);
        using (var file = File.Create(input))
        {
            var buffer = new byte[1024 * 1024];
            for (long offset = 0; offset < wave.Length; offset += buffer.Length)
            {
                var count = (int)Math.Min(buffer.Length, wave.Length - offset);
                wave.Read(offset, buffer.AsSpan(0, count));
                file.Write(buffer, 0, count);
            }
        }

        var start = new ProcessStartInfo(ffmpegPath) { RedirectStandardError = true, RedirectStandardOutput = false, RedirectStandardInput = true };
        foreach (var argument in video
            ? new[] { "-y", "-loglevel", "error", "-f", "lavfi", "-i", "testsrc=size=1920x1080:rate=8", "-i", input, "-shortest", "-c:v", "libx264", "-pix_fmt", "yuv420p", "-c:a", "aac", output }
            : ["-y", "-loglevel", "error", "-i", input, "-codec:a", "libmp3lame", "-b:a", "48k", output])
        {
            start.ArgumentList.Add(argument);
        }

        try
        {
            // ffmpeg writes its output file, not stdout: stdout is left alone so that it can never fill a pipe nobody reads,
            // and stdin is closed so that it never waits for a keypress.
            using var process = Process.Start(start)!;
            process.StandardInput.Close();
            var errors = process.StandardError.ReadToEnd();
            process.WaitForExit();
            if (process.ExitCode != 0)
            {
                throw new EmulatorRequestException($"ffmpeg could not encode {format}: {errors.Trim()}");
            }
        }
        catch (System.ComponentModel.Win32Exception)
        {
            throw new EmulatorRequestException(
                $"Tone media in {format} needs ffmpeg, which was not found ('{ffmpegPath}'). Install it (apt-get install ffmpeg), or use \"media\": \"synthetic\" for {format}-typed bytes, or \"format\": \"wav\".");
        }
        finally
        {
            File.Delete(input);
        }

        return new FileMedia(output, format == "mp3" ? "audio/mpeg" : "video/mp4");
    }
}
