package io.wharf.deploy;

import static org.assertj.core.api.Assertions.assertThat;

import io.wharf.core.config.WharfConfig;
import io.wharf.server.cli.WharfCli;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

/**
 * The two image recipes in {@code deploy/container} describe one image: the Dockerfile (for sites
 * with Docker) and {@code build-local.sh} (buildah onto a debootstrap root, no daemon) set the same
 * user, volume, port, entry point, default command, health check and JVM options; the files they
 * copy exist; the default command is a valid {@code wharf serve} reading the image's config, whose
 * disk tier is the volume and whose port is the one exposed and health-checked. Building and
 * running the image is {@code build-local.sh} itself (not part of {@code ./mvnw verify}; see
 * deploy/README.md).
 */
class ContainerImageTest {
  static final Path DIR = Path.of("container");
  static final Path REPO = Path.of("..");

  private final String dockerfile = read(DIR.resolve("Dockerfile"));
  private final String script = read(DIR.resolve("build-local.sh"));
  private final WharfConfig imageConfig = WharfConfig.load(DIR.resolve("wharf.yaml"));

  private static String read(Path p) {
    try {
      return Files.readString(p);
    } catch (IOException e) {
      throw new AssertionError(e);
    }
  }

  /** The runtime stage: everything after the last FROM, continuation lines joined. */
  private String runtimeStage() {
    String joined = dockerfile.replaceAll("\\\\\\n\\s*", " ");
    return joined.substring(joined.lastIndexOf("\nFROM "));
  }

  private String instruction(String name) {
    Matcher m = Pattern.compile("(?m)^" + name + " (.+)$").matcher(runtimeStage());
    assertThat(m.find()).as("Dockerfile runtime stage has %s", name).isTrue();
    return m.group(1).strip();
  }

  /** The image's own {@code buildah config} (after the base images are made). */
  private String assembly() {
    int at = script.indexOf("# --- assemble the image");
    assertThat(at).as("build-local.sh has its assembly section").isPositive();
    return script.substring(at);
  }

  private String buildahConfig(String option) {
    Matcher m = Pattern.compile("--" + option + " ('[^']*'|\"[^\"]*\"|\\S+)").matcher(assembly());
    assertThat(m.find()).as("build-local.sh sets --%s", option).isTrue();
    return m.group(1).replaceAll("^['\"]|['\"]$", "");
  }

  @Test
  void dockerfileAndBuildLocal_describeTheSameImage() {
    assertThat(buildahConfig("user")).isEqualTo(instruction("USER"));
    assertThat(buildahConfig("volume")).isEqualTo(instruction("VOLUME"));
    assertThat(buildahConfig("port")).isEqualTo(instruction("EXPOSE"));
    assertThat(buildahConfig("workingdir")).isEqualTo(instruction("WORKDIR"));
    assertThat(buildahConfig("entrypoint")).isEqualTo(instruction("ENTRYPOINT"));
    assertThat(buildahConfig("stop-signal")).isEqualTo(instruction("STOPSIGNAL"));
    // CMD ["serve", "--config", "/etc/wharf/wharf.yaml"] vs --cmd 'serve --config ...'
    assertThat(String.join(" ", jsonArray(instruction("CMD")))).isEqualTo(buildahConfig("cmd"));
    String health = instruction("HEALTHCHECK");
    assertThat(health).contains("--interval=" + buildahConfig("healthcheck-interval"))
        .contains("--timeout=" + buildahConfig("healthcheck-timeout"))
        .contains("--start-period=" + buildahConfig("healthcheck-start-period"))
        .contains("--retries=" + buildahConfig("healthcheck-retries"));
    assertThat(health.replaceAll(".*CMD ", "CMD "))
        .isEqualTo("CMD [\"" + buildahConfig("healthcheck").replace("CMD ", "") + "\"]");
    assertThat("JAVA_OPTS=" + instruction("ENV").replaceFirst("^JAVA_OPTS=", "").replace("\"", ""))
        .isEqualTo(buildahConfig("env"));
  }

  @Test
  void copiedFiles_exist_andTheJarIsTheOneMavenBuilds() throws IOException {
    Matcher m = Pattern.compile("(?m)^COPY (?!--from)(.+) (\\S+)$").matcher(runtimeStage());
    int n = 0;
    while (m.find()) {
      for (String src : m.group(1).split("\\s+")) {
        assertThat(REPO.resolve(src)).as("COPY %s", src).exists();
        n++;
      }
    }
    assertThat(n).isGreaterThanOrEqualTo(3);
    String pom = Files.readString(REPO.resolve("proxy-server/pom.xml"));
    assertThat(pom).contains("<finalName>wharf</finalName>");
    assertThat(dockerfile).contains("cp proxy-server/target/wharf.jar /wharf.jar");
    assertThat(script).contains("proxy-server/target/wharf.jar");
    for (Path launcher : List.of(DIR.resolve("wharf"), DIR.resolve("wharf-healthcheck"))) {
      assertThat(Files.isExecutable(launcher)).as("%s is executable", launcher).isTrue();
    }
    assertThat(Files.readString(DIR.resolve("wharf"))).contains("-jar /opt/wharf/wharf.jar");
  }

  @Test
  void defaultCommand_servesTheImagesConfig_onTheVolume_andTheHealthCheckedPort()
      throws IOException {
    List<String> cmd = jsonArray(instruction("CMD"));
    CommandLine.ParseResult parsed = WharfCli.commandLine().parseArgs(cmd.toArray(String[]::new));
    assertThat(parsed.subcommand().commandSpec().name()).isEqualTo("serve");
    Path config = parsed.subcommand().matchedOptionValue("--config", (Path) null);
    assertThat(runtimeStage()).contains("COPY deploy/container/wharf.yaml " + config);
    assertThat(imageConfig.storage().diskTiers()).hasSize(1);
    assertThat(imageConfig.storage().primaryDisk().path()).isEqualTo(instruction("VOLUME"));
    int port = WharfConfig.HostPort.parse(imageConfig.listen(), "listen").port();
    assertThat(instruction("EXPOSE")).isEqualTo(String.valueOf(port));
    assertThat(Files.readString(DIR.resolve("wharf-healthcheck")))
        .contains("${WHARF_HEALTH_PORT:-" + port + "}").contains("GET /healthz ");
  }

  private static List<String> jsonArray(String text) {
    Matcher m = Pattern.compile("\"([^\"]*)\"").matcher(text);
    List<String> out = new ArrayList<>();
    while (m.find()) {
      out.add(m.group(1));
    }
    return out;
  }
}
