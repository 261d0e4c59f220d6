using System.CommandLine;
using CallVault.Cli;
using CallVault.Cli.Commands;

var root = new RootCommand("CallVault: keeps every Azure Communication Services call recording safe.")
{
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
