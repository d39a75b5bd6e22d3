using Sanjia.Cli;
using Sanjia.Hosting;

namespace Sanjia.Tests.Cli;

/// <summary>The command line as typed, run in-process: exit code and what is printed.</summary>
public sealed class SanjiaCliTests
{
    private static async Task<(int Code, string Output, string Error)> RunAsync(params string[] args)
    {
        using var output = new StringWriter();
        using var error = new StringWriter();
        var code = await SanjiaCli.RunCommandAsync(args, output, error, CancellationToken.None)
            ?? await GatewayRun.RunAsync(args, output, error, interactive: false);
        return (code, output.ToString(), error.ToString());
    }

    [Theory]
    [InlineData("modles list", "sanjia: unknown command 'modles'. Did you mean 'models'?")]
    [InlineData("comprae --suite x", "sanjia: unknown command 'comprae'. Did you mean 'compare'?")]
    [InlineData("--prot 21001", "sanjia: unknown option '--prot'. Did you mean '--port'?")]
    [InlineData("serve --modle a.gguf", "sanjia: unknown option '--modle'. Did you mean '--model'?")]
    [InlineData("serve --bogus 1", "sanjia: unknown option '--bogus'. Run 'sanjia serve --help' for the options")]
    [InlineData("serve extra", "sanjia: unexpected argument 'extra'.")]
    [InlineData("--host 0.0.0.0.0", "sanjia: --host: '0.0.0.0.0' is not an IP address.")]
    [InlineData("--port 70000", "sanjia: --port: '70000' is not a port number")]
    [InlineData("--port", "sanjia: '--port' needs a value.")]
    [InlineData("prices imprt data.json", "sanjia prices: unknown subcommand 'imprt'. Did you mean 'import'?")]
    [InlineData("prices import data.json --outt x", "sanjia prices: unknown option '--outt'. Did you mean '--out'?")]
    public async Task A_typo_exits_2_with_one_line_and_starts_nothing(string commandLine, string expected)
    {
        var (code, output, error) = await RunAsync(commandLine.Split(' '));
        Assert.Equal(2, code);
        Assert.StartsWith(expected, error, StringComparison.Ordinal);
        Assert.DoesNotContain("listening", output + error, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("prices check --as-of 2026-12-06", 0)]
    [InlineData("prices check --as-of 2026-12-06 --strict", 3)]
    [InlineData("prices check --as-of 2026-12-06 --max-age 1000 --strict", 0)]
    public async Task Prices_check_on_the_shipped_catalogue_warns_and_fails_only_when_strict(string commandLine, int expected)
    {
        // A fresh checkout runs the documented command: entries due for a re-read are a warning, not a failure.
        var (code, output, error) = await RunAsync(commandLine.Split(' '));
        Assert.True(code == expected, output + error);
        Assert.Empty(error);
    }

    [Theory]
    [InlineData("--version")]
    [InlineData("-V")]
    [InlineData("version")]
    [InlineData("serve --version")]
    [InlineData("--port 4100 --version")]
    [InlineData("models --version")]
    [InlineData("compare --version")]
    [InlineData("prices import --version")]
    public async Task Version_works_on_every_command(string commandLine)
    {
        var (code, output, _) = await RunAsync(commandLine.Split(' '));
        Assert.Equal(0, code);
        Assert.Matches(@"^sanjia \d+\.\d+\.\d+(-[0-9A-Za-z.]+)?(\+[0-9a-f]{7})?\r?\n$", output);
        Assert.Equal($"sanjia {SanjiaCli.Version}{Environment.NewLine}", output);
    }

    [Theory]
    [InlineData("--help", "sanjia models <pull|list|rm>")]
    [InlineData("-h", "Exit codes: 0 success")]
    [InlineData("help", "sanjia prices import <file>")]
    [InlineData("serve --help", "--models-dir DIR")]
    [InlineData("--port 4100 --help", "--host ADDRESS")]
    [InlineData("help serve", "-p, --port N")]
    [InlineData("prices --help", "Usage: sanjia prices import")]
    [InlineData("prices import --help", "--out FILE")]
    [InlineData("db --help", "Usage: sanjia db copy")]
    [InlineData("db copy --help", "--to CONNECTION")]
    public async Task Help_works_on_every_command_and_exits_0(string commandLine, string expected)
    {
        var (code, output, error) = await RunAsync(commandLine.Split(' '));
        Assert.Equal(0, code);
        Assert.Contains(expected, output, StringComparison.Ordinal);
        Assert.Empty(error);
    }

    [Fact]
    public async Task Help_ends_with_a_newline_and_names_every_subcommand()
    {
        // Without the newline the shell's prompt was printed on the help's last line.
        foreach (var commandLine in new[] { "--help", "help", "serve --help", "help serve", "prices --help", "db --help" })
        {
            var (_, output, _) = await RunAsync(commandLine.Split(' '));
            Assert.True(output.EndsWith('\n'), $"{commandLine}: ends with '{output[^Math.Min(20, output.Length)..]}'");
        }
        var (_, help, _) = await RunAsync("--help");
        foreach (var subcommand in new[] { "models <pull|list|rm>", "prices import", "prices check", "db copy", "db delete" })
        {
            Assert.Contains(subcommand, help, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task Help_lines_fit_80_columns_so_no_terminal_wraps_an_option()
    {
        foreach (var commandLine in new[] { "--help", "serve --help", "prices --help", "db --help" })
        {
            var (_, output, _) = await RunAsync(commandLine.Split(' '));
            Assert.All(output.Split('\n'), line => Assert.True(line.TrimEnd('\r').Length <= 80, $"{commandLine}: '{line}'"));
        }
    }

    [Fact]
    public async Task Compare_and_models_help_lines_fit_80_columns_too()
    {
        // These two print through Spectre.Console, which wraps at the terminal's width: rendered here 200 wide, so a
        // line the help itself makes too long shows up as it is.
        foreach (var command in new[] { "compare", "models" })
        {
            var output = new StringWriter();
            var console = Spectre.Console.AnsiConsole.Create(new Spectre.Console.AnsiConsoleSettings
            {
                Ansi = Spectre.Console.AnsiSupport.No,
                Interactive = Spectre.Console.InteractionSupport.No,
                Out = new Spectre.Console.AnsiConsoleOutput(output),
            });
            console.Profile.Width = 200;
            var code = command == "compare"
                ? await CompareCommand.RunAsync(["--help"], new CompareCommandEnvironment(console, _ => null), CancellationToken.None)
                : await ModelsCommand.RunAsync(["--help"], new ModelsCommandEnvironment(console, _ => null), CancellationToken.None);
            Assert.Equal(0, code);
            var lines = output.ToString().Split('\n');
            Assert.Contains(lines, l => l.Contains("--help", StringComparison.Ordinal) || l.Contains("Usage", StringComparison.Ordinal));
            Assert.All(lines, line => Assert.True(line.TrimEnd('\r').Length <= 80, $"{command} --help: '{line}'"));
        }
    }
}
