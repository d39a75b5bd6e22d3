using Sanjia.Core.Configuration;
using Sanjia.Hosting;

namespace Sanjia.Tests.Hosting;

public class CommandLineTests
{
    [Fact]
    public void Friendly_switches_become_configuration_keys()
    {
        var args = CommandLine.ToConfigArgs(["serve", "--port", "4100", "--model", "a.gguf", "-m", "b.gguf", "--data", "/tmp/d", "--Sanjia:Local:MaxQueue=3"]);
        Assert.Equal(["--Sanjia:ModelFiles:0=a.gguf", "--Sanjia:ModelFiles:1=b.gguf", "--Sanjia:DataDir=/tmp/d", "--Sanjia:Local:MaxQueue=3", "--Sanjia:Urls=http://127.0.0.1:4100"], args);
    }

    [Fact]
    public void The_default_address_is_loopback_port_4000()
    {
        Assert.Equal("http://127.0.0.1:4000", new SanjiaOptions().Urls);
        Assert.Equal(["--Sanjia:Urls=http://0.0.0.0:4000"], CommandLine.ToConfigArgs(["--host", "0.0.0.0"]));
    }

    [Fact]
    public void A_missing_model_file_is_a_configuration_error_with_its_path()
    {
        var ex = Assert.Throws<ConfigurationException>(() => GatewayApp.Build(["--Sanjia:Urls=http://127.0.0.1:0", "--model", "/nonexistent/x.gguf"]));
        Assert.Contains("Sanjia:ModelFiles:0: the file '/nonexistent/x.gguf' does not exist.", ex.Errors);
    }
}
