package io.wharf.server.cli;

import static org.assertj.core.api.Assertions.assertThat;

import io.wharf.core.config.WharfConfig;
import io.wharf.core.oci.Digest;
import io.wharf.core.testing.TestImages;
import io.wharf.server.WharfServer;
import io.wharf.server.testing.WharfOnScriptedUpstream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** {@code wharf prefetch}, {@code pin}, {@code purge} and {@code gc} against a running Wharf. */
@Timeout(120)
class AdminCommandsIT extends WharfOnScriptedUpstream {
  static final String TOKEN = "cli-t0ken";

  record Run(int status, String out, String err) {}

  Run wharf(String... args) {
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    var cl = WharfCli.commandLine();
    cl.setOut(new PrintWriter(out, true));
    cl.setErr(new PrintWriter(err, true));
    List<String> all = new ArrayList<>(List.of(args));
    int status = cl.execute(all.toArray(String[]::new));
    return new Run(status, out.toString(), err.toString());
  }

  String[] admin(Path tokenFile, String... args) {
    List<String> all = new ArrayList<>(List.of(args));
    all.add("--admin-url");
    all.add("http://127.0.0.1:" + server.adminPort());
    all.add("--token-file");
    all.add(tokenFile.toString());
    if (args[0].equals("prefetch")) {
      all.add("--poll-interval");
      all.add("50");
    }
    return all.toArray(String[]::new);
  }

  void startWithAdmin() {
    String yaml = "listen: 127.0.0.1:0\n"
        + "admin:\n  listen: 127.0.0.1:0\n  token: " + TOKEN + "\n"
        + "upstreams:\n  - name: up\n    url: " + upstream.url() + "\n"
        + "storage:\n  tiers:\n    - path: " + store + "\n"
        + "server:\n  shutdownGrace: 2s\n";
    server = WharfServer.start(WharfConfig.parse(yaml));
  }

  @Test
  void prefetch_success_exitsZero_unknownImage_exitsNonZero(@org.junit.jupiter.api.io.TempDir
      Path dir) throws Exception {
    startWithAdmin();
    Path tokenFile = Files.writeString(dir.resolve("token"), TOKEN + "\n");
    TestImages.Image image = TestImages.image(201, 300_000, 5_000);
    TestImages.publish(upstream, "team/app", "1", image);

    Run ok = wharf(admin(tokenFile, "prefetch", "team/app:1", "--pin"));

    assertThat(ok.status()).as(ok.err()).isZero();
    assertThat(ok.err()).contains("100%").contains("3/3 blobs");
    assertThat(ok.out()).contains("team/app:1 -> up/team/app@" + image.manifestDigest())
        .contains("pinned");
    assertThat(server.services().blobs().store().tierOf(image.layerDigest(0))).isEqualTo("disk0");

    Run missing = wharf(admin(tokenFile, "prefetch", "team/nope:1"));
    assertThat(missing.status()).isEqualTo(1);
    assertThat(missing.err()).contains("error: team/nope:1");

    Run badRef = wharf(admin(tokenFile, "prefetch", "Team/App:1"));
    assertThat(badRef.status()).isEqualTo(2);
    assertThat(badRef.err()).contains("refused");

    Run noToken = wharf("prefetch", "--admin-url", "http://127.0.0.1:" + server.adminPort(),
        "team/app:1");
    assertThat(noToken.status()).isEqualTo(2);
    assertThat(noToken.err()).contains("admin token required");

    Run pins = wharf(admin(tokenFile, "pin", "ls"));
    assertThat(pins.status()).isZero();
    assertThat(pins.out()).contains("up/team/app:1");
    assertThat(wharf(admin(tokenFile, "pin", "rm", "up/team/app:1")).status()).isZero();
    assertThat(wharf(admin(tokenFile, "pin", "rm", "up/team/app:1")).status()).isEqualTo(1);

    Digest layer = image.layerDigest(0);
    Run purge = wharf(admin(tokenFile, "purge", "blob", layer.toString()));
    assertThat(purge.status()).as(purge.err()).isZero();
    assertThat(server.services().blobs().store().tierOf(layer)).isNull();
    assertThat(wharf(admin(tokenFile, "purge", "tag", "up/team/app:1")).status()).isZero();
    Run gc = wharf(admin(tokenFile, "gc"));
    assertThat(gc.status()).isZero();
    assertThat(gc.out()).contains("tempFilesRemoved");
  }

  @Test
  void unreachableAdminApi_exitsTwoWithAHint() {
    Run r = wharf("prefetch", "--admin-url", "http://127.0.0.1:1", "a:1");
    assertThat(r.status()).isEqualTo(2);
    assertThat(r.err()).contains("cannot reach the admin API");
  }

  @Test
  void help_isCompleteForEveryAdminCommand() {
    for (String cmd : new String[] {"prefetch", "pin", "purge", "gc"}) {
      Run r = wharf(cmd, "--help");
      assertThat(r.status()).isZero();
      assertThat(r.out()).contains("Usage: wharf " + cmd);
    }
    assertThat(wharf("prefetch", "--help").out()).contains("--platform", "--pin", "--admin-url",
        "--token-file", "Exit status");
    assertThat(wharf("--help").out()).contains("prefetch", "pin", "purge", "gc");
  }
}
