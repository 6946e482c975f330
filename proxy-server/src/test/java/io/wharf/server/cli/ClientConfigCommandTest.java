package io.wharf.server.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/** {@code wharf client-config}: what each runtime gets, and the requests it refuses. */
class ClientConfigCommandTest {
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

  private Path config(String yaml) throws Exception {
    Path htpasswd = dir.resolve("htpasswd");
    Files.writeString(htpasswd, "alice:$2y$05$0123456789012345678901uAbCdEfGhIjKlMnOpQrStUvWxYz0123\n");
    Path f = dir.resolve("wharf.yaml");
    Files.writeString(f, yaml.replace("HTPASSWD", htpasswd.toString()));
    return f;
  }

  private static final String TWO_UPSTREAMS = "externalUrl: http://wharf.site:5000/\n"
      + "upstreams:\n"
      + "  - name: docker.io\n    url: https://registry-1.docker.io\n"
      + "  - name: gitlab.site\n    url: https://gitlab.site.example:5050\n"
      + "    access: {htpasswd: HTPASSWD}\n";

  @Test
  void containerd_upstreamByRegistryHost_mirrorIsExternalUrl_serverIsUpstream() throws Exception {
    Path f = config(TWO_UPSTREAMS);
    Run r = run("client-config", "--config", f.toString(), "--upstream",
        "gitlab.site.example:5050", "--format", "containerd");
    assertThat(r.exit()).as(r.err()).isZero();
    assertThat(r.out())
        .startsWith("# /etc/containerd/certs.d/gitlab.site.example:5050/hosts.toml\n")
        .contains("server = \"https://gitlab.site.example:5050\"\n")
        .contains("[host.\"http://wharf.site:5000\"]\n  capabilities = [\"pull\", \"resolve\"]\n")
        .contains("Authorization = \"Basic"); // this upstream needs client auth: say how
  }

  @Test
  void podman_all_prefixMirrorPerUpstream_insecureForPlainHttp() throws Exception {
    Path f = config(TWO_UPSTREAMS);
    Run r = run("client-config", "-c", f.toString(), "--all", "-f", "podman");
    assertThat(r.exit()).as(r.err()).isZero();
    assertThat(r.out())
        .contains("prefix = \"docker.io\"\nlocation = \"docker.io\"\n\n[[registry.mirror]]\n"
            + "location = \"wharf.site:5000/docker.io\"\ninsecure = true\n")
        .contains("prefix = \"gitlab.site.example:5050\"\nlocation = \"gitlab.site.example:5050\"\n"
            + "\n[[registry.mirror]]\nlocation = \"wharf.site:5000/gitlab.site\"\n");
  }

  @Test
  void docker_onlyForDockerHubAsDefaultUpstream() throws Exception {
    Path f = config(TWO_UPSTREAMS);
    Run ok = run("client-config", "-c", f.toString(), "-f", "docker");
    assertThat(ok.exit()).as(ok.err()).isZero();
    assertThat(ok.out()).isEqualTo("{\n  \"registry-mirrors\": [\"http://wharf.site:5000\"],\n"
        + "  \"insecure-registries\": [\"wharf.site:5000\"]\n}\n");

    Run notHub = run("client-config", "-c", f.toString(), "-u", "gitlab.site", "-f", "docker");
    assertThat(notHub.exit()).isEqualTo(2);
    assertThat(notHub.err()).contains("Docker Hub only").contains("wharf.site:5000/gitlab.site/");

    Path other = config(TWO_UPSTREAMS + "defaultUpstream: gitlab.site\n");
    Run notDefault = run("client-config", "-c", other.toString(), "-f", "docker");
    assertThat(notDefault.exit()).isEqualTo(2);
    assertThat(notDefault.err()).contains("defaultUpstream 'gitlab.site'");
  }

  @Test
  void k3s_https_noInsecure_everyUpstreamOneEndpoint() throws Exception {
    Path f = config(TWO_UPSTREAMS);
    Run r = run("client-config", "-c", f.toString(), "--all", "-f", "k3s",
        "--external-url", "https://wharf.site");
    assertThat(r.exit()).as(r.err()).isZero();
    assertThat(r.out()).contains("mirrors:\n  \"docker.io\":\n    endpoint:\n"
        + "      - \"https://wharf.site\"\n  \"gitlab.site.example:5050\":\n");
  }

  @Test
  void outputDir_writesOneFilePerRegistry() throws Exception {
    Path f = config(TWO_UPSTREAMS);
    Path out = dir.resolve("certs.d");
    Run r = run("client-config", "-c", f.toString(), "--all", "-f", "containerd", "-o",
        out.toString());
    assertThat(r.exit()).as(r.err()).isZero();
    assertThat(r.out()).isEmpty();
    assertThat(out.resolve("docker.io/hosts.toml")).content().contains("?ns=docker.io");
    assertThat(out.resolve("gitlab.site.example:5050/hosts.toml")).exists();
  }

  @Test
  void badRequests_exit2_withReason() throws Exception {
    Path f = config(TWO_UPSTREAMS);
    Run unknown = run("client-config", "-c", f.toString(), "-u", "quay.io", "-f", "podman");
    assertThat(unknown.exit()).isEqualTo(2);
    assertThat(unknown.err()).contains("'quay.io'").contains("[docker.io, gitlab.site]");

    Run withPath = run("client-config", "-c", f.toString(), "-f", "podman",
        "--external-url", "http://wharf.site/wharf");
    assertThat(withPath.exit()).isEqualTo(2);
    assertThat(withPath.err()).contains("has a path");

    Run both = run("client-config", "-c", f.toString(), "-f", "podman", "--all", "-u", "x");
    assertThat(both.exit()).isEqualTo(2);
  }

  @Test
  void noExternalUrl_warnsAndUsesListenAddress() throws Exception {
    Path f = config("listen: 127.0.0.1:5055\n");
    Run r = run("client-config", "-c", f.toString(), "-f", "k3s");
    assertThat(r.exit()).isZero();
    assertThat(r.err()).contains("externalUrl is not set");
    assertThat(r.out()).contains("- \"http://127.0.0.1:5055\"");
  }
}
