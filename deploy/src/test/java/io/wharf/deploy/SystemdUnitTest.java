package io.wharf.deploy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.wharf.core.config.TierConfig;
import io.wharf.core.config.WharfConfig;
import io.wharf.server.cli.WharfCli;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/**
 * {@code deploy/systemd/wharf.service} against the code and the example config next to it: the
 * command it starts is a valid {@code wharf serve}, every disk tier is writable under {@code
 * ProtectSystem=strict}, the hardening keeps the JIT working (no {@code MemoryDenyWriteExecute}),
 * and the stop timeout covers the shutdown grace. With {@code systemd-analyze} on the machine the
 * unit must also verify without a single warning.
 */
class SystemdUnitTest {
  static final Path UNIT = Path.of("systemd/wharf.service");
  static final Path EXAMPLE = Path.of("systemd/wharf.yaml");
  static final String CONFIG_PATH = "/etc/wharf/wharf.yaml";

  /** Section → key → values (keys may repeat). */
  static Map<String, Map<String, List<String>>> parse(Path unit) throws IOException {
    Map<String, Map<String, List<String>>> out = new LinkedHashMap<>();
    String section = null;
    for (String raw : Files.readAllLines(unit)) {
      String line = raw.strip();
      if (line.isEmpty() || line.startsWith("#") || line.startsWith(";")) {
        continue;
      }
      if (line.startsWith("[")) {
        section = line.substring(1, line.indexOf(']'));
        out.putIfAbsent(section, new LinkedHashMap<>());
        continue;
      }
      int eq = line.indexOf('=');
      assertThat(eq).as("line '%s'", line).isPositive();
      assertThat(section).as("key outside a section: %s", line).isNotNull();
      out.get(section).computeIfAbsent(line.substring(0, eq).strip(), k -> new ArrayList<>())
          .add(line.substring(eq + 1).strip());
    }
    return out;
  }

  private final Map<String, List<String>> service;

  SystemdUnitTest() throws IOException {
    service = parse(UNIT).get("Service");
  }

  private String one(String key) {
    assertThat(service.get(key)).as("[Service] %s", key).isNotNull().hasSize(1);
    return service.get(key).get(0);
  }

  @Test
  void execStart_isAServeCommand_withTheConfigFile() {
    List<String> argv = Arrays.asList(one("ExecStart").split("\\s+"));
    int jar = argv.indexOf("-jar");
    assertThat(jar).as("java ... -jar wharf.jar").isPositive();
    assertThat(argv.get(0)).startsWith("/"); // systemd wants an absolute path
    assertThat(argv).contains("$JAVA_OPTS");
    List<String> wharfArgs = argv.subList(jar + 2, argv.size());
    CommandLine.ParseResult parsed = WharfCli.commandLine().parseArgs(
        wharfArgs.toArray(String[]::new));
    assertThat(parsed.subcommand().commandSpec().name()).isEqualTo("serve");
    assertThat(parsed.subcommand().matchedOptionValue("--config", (Path) null))
        .isEqualTo(Path.of(CONFIG_PATH));
  }

  @Test
  void everyDiskTierOfTheExampleConfig_isWritable() {
    WharfConfig cfg = WharfConfig.load(EXAMPLE);
    List<String> writable = new ArrayList<>();
    for (String v : service.getOrDefault("ReadWritePaths", List.of())) {
      for (String p : v.split("\\s+")) {
        writable.add(p.replaceFirst("^-", ""));
      }
    }
    service.getOrDefault("StateDirectory", List.of())
        .forEach(d -> writable.add("/var/lib/" + d));
    assertThat(cfg.storage().diskTiers()).hasSizeGreaterThan(1);
    for (TierConfig t : cfg.storage().diskTiers()) {
      assertThat(writable).as("tier %s under ProtectSystem=strict", t.path())
          .anyMatch(w -> Path.of(t.path()).startsWith(w));
    }
    assertThat(one("ProtectSystem")).isEqualTo("strict");
  }

  @Test
  void hardening_thatAJvmTolerates() {
    assertThat(service).doesNotContainKey("MemoryDenyWriteExecute"); // breaks the JIT
    for (String key : List.of("NoNewPrivileges", "ProtectHome", "PrivateTmp", "PrivateDevices",
        "ProtectKernelTunables", "ProtectKernelModules", "ProtectControlGroups")) {
      assertThat(one(key)).as(key).isEqualTo("true");
    }
    assertThat(one("RestrictAddressFamilies")).contains("AF_INET", "AF_INET6");
    assertThat(one("User")).isEqualTo("wharf");
    assertThat(Long.parseLong(one("LimitNOFILE"))).isGreaterThanOrEqualTo(65536);
    assertThat(one("Restart")).isEqualTo("on-failure");
    assertThat(one("SuccessExitStatus")).contains("143"); // SIGTERM after a clean shutdown
    assertThat(one("RestartPreventExitStatus")).isEqualTo("2"); // invalid config
  }

  @Test
  void stopTimeout_coversTheShutdownGrace() {
    WharfConfig cfg = WharfConfig.load(EXAMPLE);
    long stop = Long.parseLong(one("TimeoutStopSec").replace("s", ""));
    assertThat(stop).isGreaterThan(cfg.server().shutdownGrace().toSeconds());
  }

  @Test
  void systemdAnalyzeVerify_reportsNothing(@TempDir Path dir) throws Exception {
    Path analyze = Path.of("/usr/bin/systemd-analyze");
    assumeTrue(Files.isExecutable(analyze), "systemd-analyze is not installed");
    String java = one("ExecStart").split("\\s+")[0];
    assumeTrue(Files.isExecutable(Path.of(java)), java + " (ExecStart) is not on this machine");
    Path unit = dir.resolve("wharf.service");
    Files.copy(UNIT, unit);
    Process p = new ProcessBuilder(analyze.toString(), "verify", unit.toString())
        .redirectErrorStream(true).start();
    assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertThat(p.exitValue()).as(out).isZero();
    assertThat(out.lines().filter(l -> l.contains("wharf.service"))).as(out).isEmpty();
  }
}
