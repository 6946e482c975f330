package io.wharf.core.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class WharfConfigTest {

  @Test
  void defaults_mirrorDockerHubOnPort5000WithLocalStore() {
    WharfConfig c = WharfConfig.defaults().validated();
    assertThat(c.listen()).isEqualTo("0.0.0.0:5000");
    assertThat(c.upstreams()).hasSize(1);
    assertThat(c.upstreams().get(0).url()).isEqualTo("https://registry-1.docker.io");
    assertThat(c.upstreams().get(0).isDockerHub()).isTrue();
    assertThat(c.defaultUpstream()).isEqualTo("docker.io");
    assertThat(c.storage().primaryDisk().path()).isEqualTo("./wharf-data");
    assertThat(c.upstreams().get(0).tagTtl()).isEqualTo(Duration.ofMinutes(5));
    assertThat(c.upstreams().get(0).negativeTtl()).isEqualTo(Duration.ofSeconds(30));
  }

  @Test
  void parse_fullFile_readsEveryKey() {
    WharfConfig c = WharfConfig.parse("""
        version: 1
        listen: 127.0.0.1:5001
        externalUrl: http://wharf.site:5001/
        defaultUpstream: site
        upstreams:
          - name: site
            url: http://127.0.0.1:5050/
            hosts: [registry.site.example]
            tagTtl: 30s
            negativeTtl: 0s
            retries: 5
            credentials:
              username: robot
              passwordEnv: SITE_PASSWORD
          - name: docker.io
            url: https://registry-1.docker.io
        storage:
          tiers:
            - type: disk
              path: /var/lib/wharf
              maxSize: 100GiB
        server:
          shutdownGrace: 10s
        """);
    assertThat(c.listen()).isEqualTo("127.0.0.1:5001");
    assertThat(c.externalUrl()).isEqualTo("http://wharf.site:5001");
    UpstreamConfig site = c.upstream("site");
    assertThat(site.url()).isEqualTo("http://127.0.0.1:5050");
    assertThat(site.tagTtl()).isEqualTo(Duration.ofSeconds(30));
    assertThat(site.negativeTtl()).isZero();
    assertThat(site.retries()).isEqualTo(5);
    assertThat(site.answersTo("registry.site.example")).isTrue();
    assertThat(site.answersTo("site")).isTrue();
    assertThat(site.answersTo("ghcr.io")).isFalse();
    assertThat(c.storage().tiers().get(0).maxBytes()).isEqualTo(100L << 30);
    assertThat(c.server().shutdownGrace()).isEqualTo(Duration.ofSeconds(10));
    assertThat(site.credentials().resolve(Map.of("SITE_PASSWORD", "p@ss:w/rd%&?")).password())
        .isEqualTo("p@ss:w/rd%&?");
  }

  @Test
  void parse_unknownKey_namesItAndTheKnownKeys() {
    assertThatThrownBy(() -> WharfConfig.parse("listen: 0.0.0.0:5000\nlisten_port: 5\n"))
        .isInstanceOf(ConfigException.class)
        .hasMessageContaining("unknown key 'listen_port' at top level")
        .hasMessageContaining("externalUrl, listen");
  }

  @Test
  void parse_emptyOrCommentOnly_isAllDefaults() {
    assertThat(WharfConfig.parse("").listen()).isEqualTo("0.0.0.0:5000");
    assertThat(WharfConfig.parse("# nothing here\n").upstreams()).hasSize(1);
  }

  @Test
  void parse_unquotedIpv6Listen_hintsAtQuoting_andQuotedWorks() {
    assertThatThrownBy(() -> WharfConfig.parse("listen: [::]:5000\n"))
        .hasMessageContaining("line 1").hasMessageContaining("need quotes");
    assertThat(WharfConfig.parse("listen: \"[::]:5000\"\n").listen()).isEqualTo("[::]:5000");
  }

  @Test
  void parse_duplicateKeyOrBadEnum_rejectedClearly() {
    assertThatThrownBy(() -> WharfConfig.parse("listen: a:1\nlisten: b:2\n"))
        .hasMessageContaining("listen");
    assertThatThrownBy(() -> WharfConfig.parse("storage:\n  tiers:\n    - type: ssd\n      path: x\n"))
        .hasMessageContaining("'ssd'").hasMessageContaining("disk");
    assertThatThrownBy(() -> WharfConfig.parse("unknownRegistry: maybe\n"))
        .hasMessageContaining("'maybe'");
    assertThat(WharfConfig.parse("unknownRegistry: default\n").unknownRegistry())
        .isEqualTo(WharfConfig.UnknownRegistry.useDefault);
  }

  @Test
  void access_passThrough_defaultsAndValidation(@TempDir Path dir) throws Exception {
    AccessConfig on = WharfConfig.parse("upstreams:\n  - {name: a, url: 'http://x',"
        + " access: {passThrough: true}}\n").upstreams().get(0).access();
    assertThat(on.passThrough()).isTrue();
    assertThat(on.passThroughTtl()).isEqualTo(Duration.ofSeconds(60));
    assertThat(on.isOpen()).isFalse();
    assertThat(WharfConfig.parse("upstreams:\n  - {name: a, url: 'http://x',"
        + " access: {passThrough: true, passThroughTtl: 5s}}\n").upstreams().get(0).access()
        .passThroughTtl()).isEqualTo(Duration.ofSeconds(5));
    assertThat(WharfConfig.parse("upstreams:\n  - {name: a, url: 'http://x'}\n").upstreams()
        .get(0).access().passThrough()).isFalse();
    Path users = Files.writeString(dir.resolve("htpasswd"), "");
    assertThatThrownBy(() -> WharfConfig.parse("upstreams:\n  - {name: a, url: 'http://x',"
        + " access: {passThrough: true, htpasswd: '" + users + "'}}\n"))
        .hasMessageContaining("passThrough cannot be combined with htpasswd");
    assertThatThrownBy(() -> WharfConfig.parse("upstreams:\n  - {name: a, url: 'http://x',"
        + " access: {passThrough: true, passThroughTtl: 0s}}\n"))
        .hasMessageContaining("passThroughTtl must be positive");
  }

  @Test
  void validate_sameHostOnTwoUpstreams_rejected() {
    assertThatThrownBy(() -> WharfConfig.parse("upstreams:\n"
        + "  - {name: a, url: 'http://x', hosts: [r.example]}\n"
        + "  - {name: b, url: 'http://y', hosts: [R.example]}\n"))
        .hasMessageContaining("listed for two upstreams");
  }

  @Test
  void answersTo_ownUrlHostAndPort() {
    UpstreamConfig u = UpstreamConfig.of("gitlab.site", "https://gitlab.example:5050");
    assertThat(u.answersTo("gitlab.example:5050")).isTrue();
    assertThat(u.answersTo("gitlab.example")).isTrue();
    assertThat(u.answersTo("gitlab.example:5051")).isFalse();
  }

  @Test
  void checkSecrets_failsWhereStartupWould() {
    WharfConfig c = WharfConfig.parse("upstreams:\n  - name: a\n    url: http://x\n"
        + "    credentials: {username: u, passwordEnv: NOT_SET_ANYWHERE}\n");
    assertThatThrownBy(() -> c.checkSecrets(Map.of()))
        .hasMessageContaining("upstreams[0].credentials")
        .hasMessageContaining("NOT_SET_ANYWHERE");
    assertThat(c.checkSecrets(Map.of("NOT_SET_ANYWHERE", "pw"))).isSameAs(c);
  }

  @Test
  void parse_badDuration_namesKeyAndSyntax() {
    assertThatThrownBy(() -> WharfConfig.parse("upstreams:\n  - name: a\n    url: http://x\n    tagTtl: soon\n"))
        .isInstanceOf(ConfigException.class)
        .hasMessageContaining("tagTtl")
        .hasMessageContaining("invalid duration");
  }

  @Test
  void validate_rejectsBadValues() {
    assertThatThrownBy(() -> WharfConfig.parse("listen: nowhere\n")).hasMessageContaining("listen");
    assertThatThrownBy(() -> WharfConfig.parse("upstreams:\n  - name: A B\n    url: http://x\n"))
        .hasMessageContaining("upstreams[0].name");
    assertThatThrownBy(() -> WharfConfig.parse("upstreams:\n  - name: a\n    url: ftp://x\n"))
        .hasMessageContaining("upstreams[0].url");
    assertThatThrownBy(() -> WharfConfig.parse("upstreams:\n  - name: a\n    url: http://u:p@x\n"))
        .hasMessageContaining("credentials");
    assertThatThrownBy(() -> WharfConfig.parse(
        "upstreams:\n  - {name: a, url: 'http://x'}\n  - {name: a, url: 'http://y'}\n"))
        .hasMessageContaining("used twice");
    assertThatThrownBy(() -> WharfConfig.parse("defaultUpstream: nope\n"))
        .hasMessageContaining("defaultUpstream");
    assertThatThrownBy(() -> WharfConfig.parse("version: 2\n")).hasMessageContaining("version");
    assertThatThrownBy(() -> WharfConfig.parse("storage:\n  tiers:\n    - type: memory\n      maxSize: 1GiB\n"))
        .hasMessageContaining("at least one disk tier");
  }

  @Test
  void credentials_fromFile_andTwoSourcesRejected(@TempDir Path dir) throws Exception {
    Path f = dir.resolve("pw");
    Files.writeString(f, "s3cret\n");
    Credentials c = new Credentials("u", null, null, f.toString(), null, null, null, null);
    assertThat(c.resolve(Map.of()).password()).isEqualTo("s3cret");
    assertThat(c.resolve(Map.of()).toString()).doesNotContain("s3cret");
    assertThat(Credentials.basic("u", "hunter2").toString()).doesNotContain("hunter2");
    Credentials both = new Credentials("u", null, "a", f.toString(), null, null, null, null);
    assertThatThrownBy(() -> both.resolve(Map.of())).hasMessageContaining("only one way");
    Credentials missingEnv = new Credentials("u", null, null, null, "NOPE", null, null, null);
    assertThatThrownBy(() -> missingEnv.resolve(Map.of())).hasMessageContaining("NOPE");
  }

  @Test
  void withSingleUpstream_namesItAfterHost() {
    WharfConfig c = WharfConfig.defaults().withSingleUpstream("http://127.0.0.1:5050").validated();
    assertThat(c.upstreams()).hasSize(1);
    assertThat(c.defaultUpstream()).isEqualTo("127.0.0.1");
    assertThat(c.upstreams().get(0).isDockerHub()).isFalse();
    WharfConfig hub = WharfConfig.defaults().withSingleUpstream("https://registry-1.docker.io").validated();
    assertThat(hub.defaultUpstream()).isEqualTo("docker.io");
  }

  @Test
  void durationsAndSizes_parse() {
    assertThat(Durations.parse("250ms")).isEqualTo(Duration.ofMillis(250));
    assertThat(Durations.parse("2h")).isEqualTo(Duration.ofHours(2));
    assertThat(Durations.parse("PT5M")).isEqualTo(Duration.ofMinutes(5));
    assertThat(Durations.format(Duration.ofMinutes(5))).isEqualTo("5m");
    assertThat(ByteSizes.parse("512KiB")).isEqualTo(512L * 1024);
    assertThat(ByteSizes.parse("2TB")).isEqualTo(2_000_000_000_000L);
    assertThat(ByteSizes.parse("20M")).isEqualTo(20L << 20);
    assertThat(ByteSizes.parse("1048576")).isEqualTo(1048576L);
    assertThatThrownBy(() -> ByteSizes.parse("lots")).hasMessageContaining("invalid size");
  }
}
