using System.CommandLine;
using CallVault.Emulator;

var endpoint = new Option<string>("--endpoint") { Description = "URL of the emulated ACS resource endpoint.", DefaultValueFactory = _ => "http://127.0.0.1:5271" };
var storage = new Option<string>("--storage") { Description = "URL of the emulated media storage host.", DefaultValueFactory = _ => "http://127.0.0.1:5272" };
var accessKey = new Option<string?>("--access-key") { Description = "The access key (base64). A random one is generated when omitted." };
var timeFactor = new Option<double>("--time-factor") { Description = "Multiplies Event Grid's retry delays and time-to-live (1 = real time).", DefaultValueFactory = _ => 1 };
var retention = new Option<double>("--retention-hours") { Description = "Hours a recording can be downloaded.", DefaultValueFactory = _ => 24 };
var resourceId = new Option<string>("--resource-id")
{
    Description = "The emulated ACS resource's immutable id (a GUID): the audience of the Call Automation callback tokens.",
    DefaultValueFactory = _ => AcsEmulatorOptions.DefaultResourceImmutableId,
};
var verbose = new Option<bool>("--verbose") { Description = "Log every request." };
var root = new RootCommand("Emulates Azure Communication Services call recording (download API, HMAC auth) and Event Grid webhook delivery.")
{
    endpoint, storage, accessKey, timeFactor, retention, resourceId, verbose,
};
root.SetAction(async (parse, cancellationToken) =>
{
    var options = new AcsEmulatorOptions
    {
        EndpointUrl = parse.GetRequiredValue(endpoint),
        StorageUrl = parse.GetRequiredValue(storage),
        AccessKey = parse.GetValue(accessKey),
        TimeFactor = parse.GetValue(timeFactor),
        Retention = TimeSpan.FromHours(parse.GetValue(retention)),
        ResourceImmutableId = parse.GetRequiredValue(resourceId),
        Verbose = parse.GetValue(verbose),
    };
    await using var emulator = await AcsEmulator.StartAsync(options, cancellationToken);
    Console.WriteLine("CallVault ACS emulator is running. Press Ctrl+C to stop.");
    Console.WriteLine($"  Connection string : {emulator.ConnectionString.ToSecretString()}");
    Console.WriteLine($"  ACS endpoint      : {emulator.Endpoint}");
    Console.WriteLine($"  Media storage     : {emulator.StorageBase}   (allow it with: {emulator.StorageOrigin})");
    Console.WriteLine($"  Admin API         : {emulator.AdminBase}");
    Console.WriteLine($"  Callback tokens   : {emulator.Context.CallAutomation.Tokens.OpenIdConfigurationUri} (audience {options.ResourceImmutableId})");
    try
    {
        await Task.Delay(Timeout.Infinite, cancellationToken);
    }
    catch (OperationCanceledException)
    {
    }

    return 0;
});
return await root.Parse(args).InvokeAsync();
