using System.Net;
using System.Net.Sockets;

namespace Sanjia.Tests.Hosting;

/// <summary>
/// Each start-up problem a new user meets, run as the real executable: exit code 1, one or two lines naming the
/// cause and the fix, printed once, and no stack trace.
/// </summary>
public sealed class StartupProblemTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("sanjia-startup-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    public static TheoryData<string, string[], string> Problems => new()
    {
        { "typo.json", ["--port", "0", "--config", "typo.json"], "typo.json: not valid JSON (line 3, position 1)" },
        { "", ["--port", "0", "--config", "missing.json"], "--config: the file 'missing.json' does not exist" },
        { "", ["--port", "0", "--Sanjia:Local:MaxQueue=eight"], "Sanjia:Local:MaxQueue: 'eight' is not a whole number." },
        { "", ["--port", "0", "--Sanjia:Local:MaxQeue=8"], "Sanjia:Local:MaxQeue: unknown setting. Did you mean 'MaxQueue'?" },
        { "", ["--port", "0", "--Sanjia:Timeuts:RequestSeconds=30"], "Sanjia:Timeuts: unknown setting. Did you mean 'Timeouts'?" },
        { "", ["--port", "0", "--data", "a-file/data"], "Sanjia:DataDir: cannot write to" },
        { "", ["--urls", "https://127.0.0.1:0"], "https://127.0.0.1:0 needs a certificate: set Kestrel:Certificates:Default:Path" },
        { "", ["--urls", "http://example.com:4000"], "Sanjia:Urls: http://example.com:4000: 'example.com' is not an IP address." },
        { "", ["--port", "0", "--models-dir", "no-such-folder"], "Sanjia:ModelsDir: the folder 'no-such-folder' does not exist. Create it, or correct --models-dir." },
    };

    [Theory]
    [MemberData(nameof(Problems))]
    public async Task A_start_up_problem_is_one_line_naming_cause_and_fix(string file, string[] args, string expected)
    {
        if (file.Length > 0)
        {
            await File.WriteAllTextAsync(Path.Combine(_dir, file), "{\n  \"Sanjia\": { \"Local\": { \"MaxQueue\": 3, }\n");
        }
        await File.WriteAllTextAsync(Path.Combine(_dir, "a-file"), "not a folder");
        await using var gateway = GatewayProcess.Start(_dir, args);
        Assert.Equal(1, await gateway.WaitForExitAsync());
        AssertOneProblem(gateway.Output, expected);
    }

    [Fact]
    public async Task A_misspelt_key_in_the_config_file_names_its_path_and_the_right_key()
    {
        await File.WriteAllTextAsync(Path.Combine(_dir, "sanjia.json"), """{ "Sanjia": { "Routing": { "Retry": { "MaxAtempts": 3 } } } }""");
        await using var gateway = GatewayProcess.Start(_dir, "--port", "0");
        Assert.Equal(1, await gateway.WaitForExitAsync());
        AssertOneProblem(gateway.Output, "Sanjia:Routing:Retry:MaxAtempts: unknown setting. Did you mean 'MaxAttempts'?");
    }

    [Fact]
    public async Task A_port_in_use_is_two_lines_naming_the_address_and_the_fix()
    {
        using var holder = new TcpListener(IPAddress.Loopback, 0);
        holder.Start();
        var port = ((IPEndPoint)holder.LocalEndpoint).Port;
        await using var gateway = GatewayProcess.Start(_dir, "--port", port.ToString(System.Globalization.CultureInfo.InvariantCulture));
        Assert.Equal(1, await gateway.WaitForExitAsync());
        AssertOneProblem(gateway.Output, $"sanjia: cannot listen on http://127.0.0.1:{port}: Address already in use.");
        Assert.Contains("choose another port with --port", gateway.Output, StringComparison.Ordinal);
    }

    private static void AssertOneProblem(string output, string expected)
    {
        var lines = output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        Assert.True(lines.Length is >= 1 and <= 2, output);
        Assert.Single(lines, l => l.Contains(expected, StringComparison.Ordinal));
        Assert.DoesNotContain("   at ", output, StringComparison.Ordinal);
        Assert.DoesNotContain("Exception", output, StringComparison.Ordinal);
    }
}
