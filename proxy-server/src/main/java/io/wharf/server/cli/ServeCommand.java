package io.wharf.server.cli;

import ch.qos.logback.classic.Level;
import io.wharf.core.config.ConfigException;
import io.wharf.core.config.WharfConfig;
import io.wharf.server.WharfServer;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code wharf serve}: run the mirror until SIGTERM/SIGINT, then shut down gracefully. */
@Command(
    name = "serve",
    mixinStandardHelpOptions = true,
    description = {
      "Run the registry mirror.",
      "Without --config and flags it mirrors Docker Hub on 0.0.0.0:5000 with ./wharf-data as"
          + " its store. Flags override the config file."
    })
final class ServeCommand implements Callable<Integer> {
  private static final Logger log = LoggerFactory.getLogger(ServeCommand.class);

  @Option(names = {"-c", "--config"}, paramLabel = "FILE",
      description = "YAML config file (see the README's configuration reference).")
  Path config;

  @Option(names = "--listen", paramLabel = "HOST:PORT",
      description = "Listen address (default 0.0.0.0:5000).")
  String listen;

  @Option(names = "--upstream", paramLabel = "URL",
      description = "Mirror this one registry (e.g. https://registry-1.docker.io) instead of the"
          + " config's upstreams.")
  String upstream;

  @Option(names = "--storage", paramLabel = "DIR",
      description = "Use this one disk directory as the store (default: ./wharf-data).")
  String storage;

  @Option(names = "--external-url", paramLabel = "URL",
      description = "How clients reach this instance (for rewritten Link headers).")
  String externalUrl;

  @Option(names = "--log-level", paramLabel = "LEVEL", defaultValue = "INFO",
      description = "Root log level: ERROR, WARN, INFO, DEBUG, TRACE (default ${DEFAULT-VALUE}).")
  String logLevel;

  @Option(names = "--access-log",
      description = "Log every answered request on logger io.wharf.access: request id, client,"
          + " user, method, URI, route, status, bytes, source (memory, disk, inflight,"
          + " passthrough, manifest, upstream) and duration.")
  boolean accessLog;

  @Option(names = "--log-format", paramLabel = "FORMAT", defaultValue = "text",
      description = "Log line format on stderr: text or json (one JSON object per line; access"
          + " lines carry their fields as key-value pairs). Default ${DEFAULT-VALUE}.")
  Logging.Format logFormat;

  @Option(names = "--log", paramLabel = "LOGGER=LEVEL",
      description = "Set one logger's level, e.g. --log io.wharf.core.fetch=DEBUG (repeatable).")
  java.util.List<String> logLevels = new java.util.ArrayList<>();

  @Override
  public Integer call() {
    Logging.bridgeJavaUtilLogging();
    Logging.setRootLevel(Level.toLevel(logLevel, Level.INFO));
    Logging.useFormat(logFormat);
    if (accessLog) {
      Logging.setLevel("io.wharf.access", Level.INFO);
    }
    try {
      Logging.setLevels(logLevels);
    } catch (IllegalArgumentException e) {
      System.err.println("wharf: " + e.getMessage());
      return 2;
    }
    WharfConfig cfg;
    try {
      cfg = effectiveConfig();
    } catch (ConfigException e) {
      System.err.println("wharf: invalid configuration: " + e.getMessage());
      return 2;
    }
    WharfServer server;
    try {
      server = WharfServer.start(cfg);
    } catch (RuntimeException e) {
      System.err.println("wharf: cannot start: " + e.getMessage());
      log.debug("start-up failure", e);
      return 1;
    }
    CountDownLatch stopped = new CountDownLatch(1);
    Runtime.getRuntime().addShutdownHook(new Thread(() -> {
      log.info("shutting down (grace {} s)", cfg.server().shutdownGrace().toSeconds());
      server.close();
      stopped.countDown();
    }, "wharf-shutdown"));
    try {
      stopped.await();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    return 0;
  }

  WharfConfig effectiveConfig() {
    WharfConfig cfg = config == null ? WharfConfig.defaults() : WharfConfig.load(config);
    if (listen != null) {
      cfg = cfg.withListen(listen);
    }
    if (upstream != null) {
      cfg = cfg.withSingleUpstream(upstream);
    }
    if (storage != null) {
      cfg = cfg.withStorageDir(storage);
    }
    if (externalUrl != null) {
      cfg = cfg.withExternalUrl(externalUrl);
    }
    return cfg.validated();
  }
}
