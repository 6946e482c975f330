package io.wharf.deploy;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.toml.TomlMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;
import io.wharf.core.config.UpstreamConfig;
import io.wharf.core.config.WharfConfig;
import io.wharf.server.cli.WharfCli;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/**
 * The client snippets committed under {@code deploy/clients/} are exactly what {@code wharf
 * client-config --all} prints for {@code deploy/clients/wharf.yaml}, so the docs cannot drift from
 * the code; and each generated file parses in its own format with the fields each runtime reads.
 *
 * <p>After changing the generator, refresh the committed files with {@code ./mvnw -pl deploy -am
 * verify -Dtest=ClientSnippetsTest -Dwharf.deploy.updateSnippets=true
 * -Dsurefire.failIfNoSpecifiedTests=false} and review the diff.
 */
class ClientSnippetsTest {
  static final Path CLIENTS = Path.of("clients");
  static final Path CONFIG = CLIENTS.resolve("wharf.yaml");
  static final List<String> FORMATS = List.of("containerd", "docker", "podman", "k3s");

  @TempDir Path tmp;

  private final WharfConfig config = WharfConfig.load(CONFIG);

  private String cli(String... args) {
    CommandLine cli = WharfCli.commandLine();
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    cli.setOut(new PrintWriter(out));
    cli.setErr(new PrintWriter(err));
    int exit = cli.execute(args);
    assertThat(exit).as("wharf %s: %s", String.join(" ", args), err).isZero();
    return out.toString();
  }

  private Path generate(String format) {
    Path dir = tmp.resolve(format);
    cli("client-config", "--config", CONFIG.toString(), "--all", "--format", format,
        "--output-dir", dir.toString());
    return dir;
  }

  private static Map<String, String> files(Path dir) throws IOException {
    Map<String, String> out = new TreeMap<>();
    try (Stream<Path> s = Files.walk(dir)) {
      for (Path f : s.filter(Files::isRegularFile).toList()) {
        out.put(dir.relativize(f).toString(), Files.readString(f));
      }
    }
    return out;
  }

  @Test
  void committedSnippets_equalGeneratedOnes() throws IOException {
    boolean update = Boolean.getBoolean("wharf.deploy.updateSnippets");
    List<String> drifted = new ArrayList<>();
    for (String format : FORMATS) {
      Path generated = generate(format);
      Path committed = CLIENTS.resolve(format);
      if (update) {
        for (Map.Entry<String, String> e : files(generated).entrySet()) {
          Path f = committed.resolve(e.getKey());
          Files.createDirectories(f.getParent());
          Files.writeString(f, e.getValue());
        }
      }
      Map<String, String> want = files(generated);
      Map<String, String> have = Files.isDirectory(committed) ? files(committed) : Map.of();
      if (!want.equals(have)) {
        drifted.add(format);
      }
      assertThat(have).as("deploy/clients/%s differs from `wharf client-config --all --format %s`"
          + " (regenerate: see this test's Javadoc)", format, format).isEqualTo(want);
    }
    assertThat(drifted).isEmpty();
  }

  @Test
  void stdout_equalsTheFilesConcatenated() throws IOException {
    String printed = cli("client-config", "--config", CONFIG.toString(), "--all", "--format",
        "containerd");
    List<String> parts = new ArrayList<>();
    for (UpstreamConfig u : orderedUpstreams()) {
      parts.add(Files.readString(CLIENTS.resolve("containerd").resolve(host(u))
          .resolve("hosts.toml")));
    }
    assertThat(printed).isEqualTo(String.join("\n", parts));
    assertThat(cli("client-config", "-c", CONFIG.toString(), "-u", "docker.io", "-f",
        "containerd")).isEqualTo(parts.get(0));
  }

  @Test
  void containerdHostsToml_parses_serverIsUpstream_hostIsExternalUrl() throws IOException {
    TomlMapper toml = new TomlMapper();
    Path dir = generate("containerd");
    for (UpstreamConfig u : config.upstreams()) {
      JsonNode doc = toml.readTree(dir.resolve(host(u)).resolve("hosts.toml").toFile());
      URI server = URI.create(doc.get("server").asText());
      assertThat(server.getHost()).isEqualTo(u.baseUri().getHost());
      JsonNode hosts = doc.get("host");
      assertThat(hosts.size()).isEqualTo(1);
      assertThat(hosts.fieldNames().next()).isEqualTo(config.externalUrl());
      JsonNode caps = hosts.get(config.externalUrl()).get("capabilities");
      assertThat(caps.toString()).isEqualTo("[\"pull\",\"resolve\"]");
      // the directory containerd looks in is the registry host, which must select u via ?ns=
      assertThat(u.answersTo(host(u))).isTrue();
    }
  }

  @Test
  void registriesConf_parses_everyUpstreamHasAPrefixMirrorThatRoutesToIt() throws IOException {
    JsonNode doc = new TomlMapper().readTree(generate("podman").resolve("50-wharf.conf").toFile());
    JsonNode regs = doc.get("registry");
    assertThat(regs.size()).isEqualTo(config.upstreams().size());
    URI ext = URI.create(config.externalUrl());
    for (JsonNode r : regs) {
      String prefix = r.get("prefix").asText();
      UpstreamConfig u = config.upstreams().stream().filter(x -> x.answersTo(prefix)).findFirst()
          .orElseThrow(() -> new AssertionError("no upstream answers to prefix " + prefix));
      JsonNode mirror = r.get("mirror").get(0);
      // containers/image requests /v2/<u.name>/<repository>/...: Wharf's path-prefix route
      assertThat(mirror.get("location").asText())
          .isEqualTo(ext.getHost() + ":" + ext.getPort() + "/" + u.name());
      assertThat(mirror.get("insecure").asBoolean()).isEqualTo(ext.getScheme().equals("http"));
    }
  }

  @Test
  void dockerDaemonJson_parses_mirrorIsExternalUrl() throws IOException {
    JsonNode doc = new ObjectMapper().readTree(generate("docker").resolve("daemon.json").toFile());
    assertThat(doc.get("registry-mirrors").get(0).asText()).isEqualTo(config.externalUrl());
    assertThat(config.upstream(config.defaultUpstream()).isDockerHub()).isTrue();
  }

  @Test
  void k3sRegistriesYaml_parses_everyRegistryHasWharfAsEndpoint() throws IOException {
    JsonNode doc = new YAMLMapper().readTree(generate("k3s").resolve("registries.yaml").toFile());
    JsonNode mirrors = doc.get("mirrors");
    assertThat(mirrors.size()).isEqualTo(config.upstreams().size());
    for (UpstreamConfig u : config.upstreams()) {
      assertThat(mirrors.get(host(u)).get("endpoint").get(0).asText())
          .isEqualTo(config.externalUrl());
    }
  }

  private List<UpstreamConfig> orderedUpstreams() {
    List<UpstreamConfig> out = new ArrayList<>();
    out.add(config.upstream(config.defaultUpstream()));
    config.upstreams().stream().filter(u -> !u.name().equals(config.defaultUpstream()))
        .forEach(out::add);
    return out;
  }

  /** The registry host image references carry, as containerd names its certs.d directory. */
  private static String host(UpstreamConfig u) {
    return u.isDockerHub() ? "docker.io" : u.baseUri().getAuthority();
  }
}
