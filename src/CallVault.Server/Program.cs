using CallVault.Server.Hosting;

var (demo, hostArguments) = DemoMode.TakeFlag(args);

// appsettings.json is read from beside the program; relative data paths are resolved from the working folder.
var builder = WebApplication.CreateBuilder(new WebApplicationOptions { Args = hostArguments, ContentRootPath = AppContext.BaseDirectory });
builder.AddCallVault();
if (demo)
{
    await builder.AddDemoModeAsync();
}

var app = builder.Build();
app.MapCallVault();
await app.RunAsync();
