namespace Sanjia.Hosting;

/// <summary>
/// Friendly switches for the serve command, turned into configuration keys so that everything still goes
/// through ASP.NET Core configuration (and its precedence: command line over environment over files).
/// </summary>
public static class CommandLine
{
    public static string[] ToConfigArgs(string[] args)
    {
        var result = new List<string>();
        var host = "127.0.0.1";
        string? port = null;
        var models = 0;
        for (var i = 0; i < args.Length; i++)
        {
            var a = args[i];
            string? Next() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"'{a}' needs a value.");
            switch (a)
            {
                case "serve":
                    break;
                case "--port" or "-p":
                    port = Next();
                    break;
                case "--host":
                    host = Next()!;
                    break;
                case "--model" or "-m":
                    result.Add($"--Sanjia:ModelFiles:{models++}={Next()}");
                    break;
                case "--models-dir":
                    result.Add($"--Sanjia:ModelsDir={Next()}");
                    break;
                case "--data":
                    result.Add($"--Sanjia:DataDir={Next()}");
                    break;
                case "--config":
                    Next(); // handled by ConfigFile
                    break;
                case "--urls":
                    result.Add($"--Sanjia:Urls={Next()}");
                    break;
                default:
                    result.Add(a);
                    break;
            }
        }
        if (port is not null)
        {
            result.Add($"--Sanjia:Urls=http://{host}:{port}");
        }
        else if (host != "127.0.0.1")
        {
            result.Add($"--Sanjia:Urls=http://{host}:4000");
        }
        return [.. result];
    }

    public static string? ConfigFile(string[] args)
    {
        var i = Array.IndexOf(args, "--config");
        return i >= 0 && i + 1 < args.Length ? args[i + 1] : null;
    }
}
