package io.wharf.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.wharf.core.oci.Digest;
import io.wharf.core.testing.ScriptedUpstream;
import io.wharf.core.testing.TestImages;
import io.wharf.server.testing.TestClient;
import java.io.IOException;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * A Wharf process killed with SIGKILL in the middle of a download, restarted on the same store:
 * the partial temp file is removed, nothing partial was ever indexed, what was stored before is
 * served without the upstream, and the interrupted blob is fetched afresh and verified.
 */
@Timeout(180)
class CrashRecoveryIT {
  @TempDir Path dir;
  ScriptedUpstream upstream;
  Process wharf;

  @AfterEach
  void tearDown() throws Exception {
    if (wharf != null) {
      wharf.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
    }
    if (upstream != null) {
      upstream.close();
    }
  }

  private static int freePort() throws IOException {
    try (ServerSocket s = new ServerSocket(0)) {
      return s.getLocalPort();
    }
  }

  private TestClient startChild(Path config, Path log) throws Exception {
    Path jar = Path.of("target", "wharf.jar").toAbsolutePath();
    assertThat(jar).as("the shaded jar is built in the package phase").exists();
    String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
    wharf = new ProcessBuilder(List.of(java, "-Xmx256m", "-jar", jar.toString(), "serve",
            "--config", config.toString()))
        .redirectErrorStream(true)
        .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile()))
        .start();
    int port = Integer.parseInt(Files.readAllLines(config).get(0).replaceAll(".*:", "").trim());
    TestClient c = new TestClient(port);
    await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(200))
        .ignoreExceptions().until(() -> c.get("/v2/").statusCode() == 200);
    return c;
  }

  private long files(Path p) throws IOException {
    if (!Files.exists(p)) {
      return 0;
    }
    try (Stream<Path> s = Files.walk(p)) {
      return s.filter(Files::isRegularFile).count();
    }
  }

  @Test
  void kill9MidDownload_restart_cleansTempAndServesCorrectly() throws Exception {
    upstream = new ScriptedUpstream();
    byte[] stored = TestImages.bytes(1, 200_000);
    Digest dStored = upstream.putBlob(stored);
    byte[] big = TestImages.bytes(2, 8 << 20);
    Digest dBig = upstream.putBlob(big);
    ScriptedUpstream.Script s = upstream.script(dBig);
    s.gate = new CountDownLatch(1);
    s.gateAfter = 2 << 20;

    Path store = dir.resolve("store");
    Path config = dir.resolve("wharf.yaml");
    Files.writeString(config, "listen: 127.0.0.1:" + freePort() + "\n"
        + "upstreams:\n  - name: up\n    url: " + upstream.url() + "\n"
        + "storage:\n  tiers:\n    - path: " + store + "\n");
    Path log = dir.resolve("wharf.log");
    TestClient c = startChild(config, log);

    assertThat(c.get("/v2/app/blobs/" + dStored).body()).isEqualTo(stored);
    // The lock is an fcntl lock held by another process: wharf fsck refuses to touch the store.
    java.io.StringWriter fsckErr = new java.io.StringWriter();
    picocli.CommandLine fsck = io.wharf.server.cli.WharfCli.commandLine();
    fsck.setErr(new java.io.PrintWriter(fsckErr));
    assertThat(fsck.execute("fsck", "--config", config.toString(), "--repair")).isEqualTo(3);
    assertThat(fsckErr.toString()).contains("refusing to check while the store is in use");
    CompletableFuture<TestClient.Result> cut = c.getHashed("/v2/app/blobs/" + dBig);
    await().atMost(Duration.ofSeconds(30)).until(() -> files(store.resolve("tmp")) == 1
        && Files.size(onlyFile(store.resolve("tmp"))) >= (2 << 20) - (64 << 10));

    wharf.destroyForcibly().waitFor(30, TimeUnit.SECONDS);
    assertThat(wharf.exitValue()).as("killed by SIGKILL").isEqualTo(137);
    TestClient.Result r = cut.get(30, TimeUnit.SECONDS);
    assertThat(r.error() != null || r.bytes() < big.length).as("the cut client never got it all").isTrue();
    assertThat(files(store.resolve("tmp"))).as("partial temp file left by the crash").isEqualTo(1);
    Path bigPath = store.resolve("blobs/sha256/" + dBig.hex().substring(0, 2) + "/" + dBig.hex());
    assertThat(bigPath).doesNotExist();

    s.gate.countDown();
    c = startChild(config, log);
    assertThat(files(store.resolve("tmp"))).as("start-up removed the leftover").isZero();
    assertThat(Files.readString(log)).contains("removed 1 leftover temp files")
        .as("start-up reports each tier's entries, bytes and time")
        .containsPattern("tier disk0 \\(" + java.util.regex.Pattern.quote(store.toString())
            + "\\): 1 blobs, 200000 bytes of no budget; index rebuilt in \\d+ ms")
        .containsPattern("store opened in \\d+ ms: 1 tiers, 1 blobs, 200000 bytes");
    int before = upstream.blobGets(dStored);
    assertThat(c.get("/v2/app/blobs/" + dStored).body()).isEqualTo(stored);
    assertThat(upstream.blobGets(dStored)).as("stored before the crash: served locally").isEqualTo(before);
    TestClient.Result again = c.getHashed("/v2/app/blobs/" + dBig).get(60, TimeUnit.SECONDS);
    assertThat(again.digest()).isEqualTo(dBig.toString());
    // The body ends once the digest matches; storing it follows.
    await().atMost(Duration.ofSeconds(10)).until(() -> Files.exists(bigPath));
    assertThat(Files.size(bigPath)).isEqualTo(big.length);
  }

  private static Path onlyFile(Path d) throws IOException {
    try (Stream<Path> s = Files.list(d)) {
      return s.findFirst().orElseThrow();
    }
  }
}
