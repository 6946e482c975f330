package io.wharf.server.cli;

import static org.assertj.core.api.Assertions.assertThat;

import io.wharf.core.config.WharfConfig;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

class ConfigCheckTest {
  @TempDir Path dir;

  private record Run(int exit, String out, String err) {}

  private Run run(String... args) {
    CommandLine cli = WharfCli.commandLine();
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    cli.setOut(new PrintWriter(out));
    cli.setErr(new PrintWriter(err));
    int exit = cli.execute(args);
    return new Run(exit, out.toString(), err.toString());
  }

  @Test
  void check_validConfig_printsEffectiveSettings_secretsMasked_andOutputIsAValidConfig()
      throws Exception {
    Path f = dir.resolve("wharf.yaml");
    Files.writeString(f, "upstreams:\n  - name: site\n    url: http://127.0.0.1:5050\n"
        + "    credentials: {username: robot, password: hunter2}\n");
    Run r = run("config", "check", f.toString());
    assertThat(r.exit()).isZero();
    assertThat(r.out()).contains("robot").contains("****").doesNotContain("hunter2");
    assertThat(r.out()).contains("tagTtl: \"5m\"").doesNotContain("null").doesNotContain("dockerHub");
    Path again = dir.resolve("effective.yaml");
    Files.writeString(again, r.out().replace("****", "x"));
    assertThat(WharfConfig.load(again).upstream("site").tagTtl())
        .isEqualTo(java.time.Duration.ofMinutes(5));
  }

  @Test
  void check_tokenKeyAndAdminToken_masked() throws Exception {
    Path f = dir.resolve("wharf.yaml");
    String key = java.util.Base64.getEncoder().encodeToString(new byte[32]).replace("A", "k");
    Files.writeString(f, "server:\n  tokens: {key: \"" + key + "\"}\n"
        + "admin: {token: sup3r-admin}\n");
    Run r = run("config", "check", f.toString());
    assertThat(r.exit()).isZero();
    assertThat(r.out()).contains("****").doesNotContain(key).doesNotContain("sup3r-admin");
  }

  @Test
  void check_missingSecretOrFile_failsWithExit2() {
    Path f = dir.resolve("bad.yaml");
    Run missing = run("config", "check", dir.resolve("nope.yaml").toString());
    assertThat(missing.exit()).isEqualTo(2);
    assertThat(missing.err()).contains("does not exist");
    try {
      Files.writeString(f, "upstreams:\n  - name: a\n    url: http://x\n"
          + "    credentials: {username: u, passwordEnv: WHARF_TEST_SURELY_UNSET}\n");
    } catch (java.io.IOException e) {
      throw new AssertionError(e);
    }
    Run secret = run("config", "check", f.toString());
    assertThat(secret.exit()).isEqualTo(2);
    assertThat(secret.err()).contains("WHARF_TEST_SURELY_UNSET");
  }

  @Test
  void help_listsEveryServeFlag() {
    Run r = run("serve", "--help");
    assertThat(r.exit()).isZero();
    for (String flag : new String[] {"--config", "--listen", "--upstream", "--storage",
        "--external-url", "--log-level", "--access-log", "--log-format", "--log"}) {
      assertThat(r.out()).contains(flag);
    }
  }

  @Test
  void check_twoUpstreamsOnOneRegistry_warnsWhichOneNsSelects() throws Exception {
    Path f = dir.resolve("two.yaml");
    Files.writeString(f, "upstreams:\n"
        + "  - name: open\n    url: http://127.0.0.1:5610\n"
        + "  - name: team\n    url: http://127.0.0.1:5610\n"
        + "  - name: other\n    url: http://127.0.0.1:5611\n");
    Run r = run("config", "check", f.toString());
    assertThat(r.exit()).isZero();
    assertThat(r.err()).contains("upstreams 'open' and 'team' both answer to registry "
        + "'127.0.0.1:5610'").contains("/v2/team/").doesNotContain("'other'");
    Path clean = dir.resolve("clean.yaml");
    Files.writeString(clean, "upstreams:\n  - name: a\n    url: http://127.0.0.1:5610\n"
        + "  - name: b\n    url: http://127.0.0.1:5611\n");
    assertThat(run("config", "check", clean.toString()).err()).doesNotContain("warning");
  }
}
