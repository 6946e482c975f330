package io.wharf.server.testing;

import io.wharf.core.config.WharfConfig;
import io.wharf.core.testing.ScriptedUpstream;
import io.wharf.server.WharfServer;
import java.io.IOException;
import java.nio.file.Path;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.io.TempDir;

/**
 * Base of the socket tests that run one in-process Wharf in front of one {@link ScriptedUpstream}
 * named {@code up}, with a fresh store per test.
 */
public abstract class WharfOnScriptedUpstream {
  @TempDir protected Path store;
  protected ScriptedUpstream upstream;
  protected WharfServer server;
  protected TestClient client;

  @BeforeEach
  void startUpstream() throws IOException {
    upstream = new ScriptedUpstream();
  }

  @AfterEach
  void stopAll() throws IOException {
    if (server != null) {
      server.close();
    }
    upstream.close();
  }

  /**
   * Starts Wharf on a free loopback port. Each argument is YAML lines (or empty): top-level keys,
   * keys of the upstream entry (indented four spaces), and keys under {@code server:} (two).
   */
  protected void start(String topYaml, String upstreamYaml, String serverYaml) {
    String yaml = "listen: 127.0.0.1:0\n" + topYaml
        + "upstreams:\n  - name: up\n    url: " + upstream.url() + "\n" + upstreamYaml
        + "storage:\n  tiers:\n    - path: " + store + "\n"
        + "server:\n  shutdownGrace: 2s\n" + serverYaml;
    server = WharfServer.start(WharfConfig.parse(yaml));
    client = new TestClient(server.port());
  }

  /** Meter value of a counter, 0 when it has not been created yet. */
  protected double counter(String name) {
    var c = server.services().meters().registry().find(name).counter();
    return c == null ? 0 : c.count();
  }
}
