package io.wharf.server.cli;

import com.fasterxml.jackson.core.JsonProcessingException;
import io.wharf.core.config.ConfigException;
import io.wharf.core.config.WharfConfig;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Parameters;

/** {@code wharf config check FILE}: validate a config and print the effective settings. */
@Command(name = "config", mixinStandardHelpOptions = true,
    description = "Work with configuration files.",
    subcommands = {ConfigCommand.Check.class})
final class ConfigCommand implements Runnable {
  @picocli.CommandLine.Spec picocli.CommandLine.Model.CommandSpec spec;

  @Override
  public void run() {
    spec.commandLine().usage(spec.commandLine().getOut());
  }

  @Command(name = "check", mixinStandardHelpOptions = true,
      description = "Validate FILE and print the effective configuration (secrets masked).")
  static final class Check implements Callable<Integer> {
    @Parameters(paramLabel = "FILE", description = "wharf.yaml to check")
    Path file;

    @picocli.CommandLine.Spec picocli.CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() throws JsonProcessingException {
      try {
        WharfConfig cfg = WharfConfig.load(file).checkSecrets(System.getenv());
        spec.commandLine().getOut().print(Masking.render(cfg));
        spec.commandLine().getOut().flush();
        for (String w : cfg.ambiguousRegistries()) {
          spec.commandLine().getErr().println("wharf: warning: " + w);
        }
        spec.commandLine().getErr().flush();
        return 0;
      } catch (ConfigException e) {
        spec.commandLine().getErr().println("wharf: " + e.getMessage());
        return 2;
      }
    }
  }
}
