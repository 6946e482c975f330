package io.wharf.server.cli;

import io.wharf.core.config.ConfigException;
import io.wharf.core.config.UpstreamConfig;
import io.wharf.core.config.WharfConfig;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code wharf client-config}: prints (or writes) the mirror configuration a node's container
 * runtime needs to pull through this instance, from the config's {@code externalUrl}.
 */
@Command(
    name = "client-config",
    mixinStandardHelpOptions = true,
    description = {
      "Print the registry mirror configuration for the nodes' container runtimes.",
      "containerd: hosts.toml per registry (containerd adds ?ns=<registry>); docker: daemon.json"
          + " (Docker Hub only); podman: registries.conf drop-in with prefix mirrors"
          + " (podman, skopeo, buildah, CRI-O); k3s: registries.yaml (k3s, RKE2).",
      "Mirror URL: the config's externalUrl (or --external-url)."
    })
final class ClientConfigCommand implements Callable<Integer> {
  static final Path DEFAULT_CONFIG = Path.of("/etc/wharf/wharf.yaml");

  @Option(names = {"-c", "--config"}, paramLabel = "FILE",
      description = "Wharf's config (default: /etc/wharf/wharf.yaml when it exists, else the"
          + " built-in default).")
  Path config;

  @Option(names = {"-f", "--format"}, required = true, paramLabel = "FORMAT",
      description = "containerd, docker, podman or k3s.")
  ClientSnippets.Format format;

  @ArgGroup(exclusive = true)
  Which which;

  /** --upstream X or --all; neither means the default upstream. */
  static final class Which {
    @Option(names = {"-u", "--upstream"}, paramLabel = "NAME",
        description = "The upstream: its name or a registry host it answers to"
            + " (e.g. docker.io). Default: the defaultUpstream (docker: the Docker Hub upstream).")
    String upstream;

    @Option(names = "--all", description = "Every configured upstream.")
    boolean all;
  }

  @Option(names = "--external-url", paramLabel = "URL",
      description = "How the nodes reach Wharf, overriding the config's externalUrl.")
  String externalUrl;

  @Option(names = {"-o", "--output-dir"}, paramLabel = "DIR",
      description = "Write the files under DIR (containerd: DIR/<registry>/hosts.toml, docker:"
          + " DIR/daemon.json, podman: DIR/50-wharf.conf, k3s: DIR/registries.yaml) instead of"
          + " printing them.")
  Path outputDir;

  @Spec CommandSpec spec;

  @Override
  public Integer call() {
    PrintWriter out = spec.commandLine().getOut();
    PrintWriter err = spec.commandLine().getErr();
    try {
      WharfConfig cfg = loadConfig(err);
      String url = externalUrl != null ? externalUrl : cfg.externalUrl();
      if (url == null) {
        url = cfg.effectiveExternalUrl();
        err.println("wharf: warning: externalUrl is not set; using " + url
            + " — set externalUrl (or --external-url) to the address the nodes use");
      }
      ClientSnippets snippets = new ClientSnippets(cfg, url);
      boolean all = which != null && which.all;
      List<UpstreamConfig> ups = all
          ? snippets.allUpstreams()
          : List.of(snippets.upstream(which != null && which.upstream != null
              ? which.upstream : defaultFor(cfg)));
      if (all && format == ClientSnippets.Format.docker) {
        ups.stream().filter(u -> !u.isDockerHub()).forEach(u -> err.println(
            "wharf: note: docker mirrors Docker Hub only; no daemon.json entry for '" + u.name()
                + "'"));
      }
      List<ClientSnippets.Snippet> files = snippets.generate(format, ups, all);
      if (outputDir != null) {
        for (ClientSnippets.Snippet s : files) {
          Path f = outputDir.resolve(s.relativePath());
          Files.createDirectories(f.getParent());
          Files.writeString(f, s.text());
          err.println("wrote " + f + " (install as " + s.installPath() + ")");
        }
      } else {
        for (int i = 0; i < files.size(); i++) {
          out.print((i > 0 ? "\n" : "") + files.get(i).text());
        }
      }
      out.flush();
      err.flush();
      return 0;
    } catch (ConfigException | ClientSnippets.SnippetException e) {
      err.println("wharf: " + e.getMessage());
      err.flush();
      return 2;
    } catch (IOException e) {
      err.println("wharf: cannot write under " + outputDir + ": " + e);
      err.flush();
      return 1;
    }
  }

  /** docker mirrors Docker Hub only: there the default is the Docker Hub upstream. */
  private String defaultFor(WharfConfig cfg) {
    if (format == ClientSnippets.Format.docker) {
      return cfg.upstreams().stream().filter(UpstreamConfig::isDockerHub).map(UpstreamConfig::name)
          .findFirst().orElse(cfg.defaultUpstream());
    }
    return cfg.defaultUpstream();
  }

  private WharfConfig loadConfig(PrintWriter err) {
    if (config != null) {
      return WharfConfig.load(config);
    }
    if (Files.isRegularFile(DEFAULT_CONFIG)) {
      err.println("wharf: using " + DEFAULT_CONFIG);
      return WharfConfig.load(DEFAULT_CONFIG);
    }
    return WharfConfig.defaults().validated();
  }
}
