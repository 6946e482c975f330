package io.wharf.server.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/** The {@code wharf} command. */
@Command(
    name = "wharf",
    mixinStandardHelpOptions = true,
    versionProvider = VersionProvider.class,
    description = "Wharf: a pull-through caching OCI registry mirror for clusters.",
    subcommands = {
      ServeCommand.class,
      ConfigCommand.class,
      FsckCommand.class,
      PrefetchCommand.class,
      PinCommand.class,
      PurgeCommand.class,
      GcCommand.class,
      ClientConfigCommand.class,
      CommandLine.HelpCommand.class
    })
public final class WharfCli implements Runnable {

  @CommandLine.Spec CommandLine.Model.CommandSpec spec;

  public static void main(String[] args) {
    System.exit(commandLine().execute(args));
  }

  public static CommandLine commandLine() {
    return new CommandLine(new WharfCli()).setCaseInsensitiveEnumValuesAllowed(true);
  }

  @Override
  public void run() {
    spec.commandLine().usage(spec.commandLine().getOut());
  }
}
