using System.CommandLine;
using System.CommandLine.Help;
using CallVault.Cli;
using CallVault.Cli.Commands;

// A root named for the command people type: a RootCommand takes the entry assembly's name (CallVault.Cli), which is
// what `callvault --help` would show when run through the tool's shim.
var root = new Command("callvault", "CallVault: keeps every Azure Communication Services call recording safe.")
{
    new HelpOption(),
    new VersionOption(),
    DownloadCommand.Create(),
    RecordingsCommand.Create(),
    JobsCommand.Create(),
    AuditCommand.Create(),
    ReconcileCommand.Create(),
    SessionsCommand.Create(),
    VerifyCommand.Create(),
    HoldCommand.Create(), DeleteCommand.Create(),
    DoctorCommand.Create(),
};

return await CommandRunner.RunAsync(root, args);
