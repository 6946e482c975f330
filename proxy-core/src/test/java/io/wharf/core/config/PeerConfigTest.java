package io.wharf.core.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.wharf.core.metrics.WharfMeters;
import io.wharf.core.oci.RepositoryName;
import io.wharf.core.upstream.RegistryClient;
import io.wharf.core.upstream.UpstreamRouter;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class PeerConfigTest {

  @Test
  void parse_fullPeers_readsEveryKey() {
    WharfConfig c = WharfConfig.parse("""
        peers:
          self: "10.0.0.1:5000"
          members: ["10.0.0.2:5000", "10.0.0.3:5000"]
          dns: wharf-peers.ns.svc
          dnsPort: 5000
          refresh: 10s
          tokenEnv: PEER_TOKEN
          connectTimeout: 1s
          timeout: 20s
          healthInterval: 3s
        """);
    PeerConfig p = c.peers();
    assertThat(p.self()).isEqualTo("10.0.0.1:5000");
    assertThat(p.members()).containsExactly("10.0.0.2:5000", "10.0.0.3:5000");
    assertThat(p.dns()).isEqualTo("wharf-peers.ns.svc");
    assertThat(p.refresh()).isEqualTo(Duration.ofSeconds(10));
    assertThat(p.timeout()).isEqualTo(Duration.ofSeconds(20));
    assertThat(p.scheme()).isEqualTo("http");
    assertThat(p.resolveToken(Map.of("PEER_TOKEN", "s3cret"))).isEqualTo("s3cret");
    assertThat(p.toString()).doesNotContain("PEER_TOKEN").contains("token=****");
    assertThatThrownBy(() -> c.checkSecrets(Map.of()))
        .hasMessageContaining("peers.").hasMessageContaining("PEER_TOKEN");
  }

  @Test
  void parse_peersWithoutMembersOrDns_isRefused() {
    assertThatThrownBy(() -> WharfConfig.parse("peers:\n  timeout: 3s\n"))
        .hasMessageContaining("peers: give members");
    assertThatThrownBy(() -> WharfConfig.parse("peers:\n  members: [\"nohost\"]\n"))
        .hasMessageContaining("peers.members[0]");
  }

  @Test
  void parse_noPeers_isNull() {
    assertThat(WharfConfig.parse("").peers()).isNull();
  }

  @Test
  void route_twoUpstreamsOnOneParentWharf_nsPicksEachAndDockerHubNamesGetLibrary() {
    WharfConfig c = WharfConfig.parse("""
        upstreams:
          - name: docker.io
            url: http://site-wharf:5000
            kind: wharf
          - name: ghcr.io
            url: http://site-wharf:5000
            kind: wharf
        """);
    assertThat(c.upstreams()).allSatisfy(u ->
        assertThat(u.kind()).isEqualTo(UpstreamConfig.Kind.wharf));
    List<RegistryClient> clients = c.upstreams().stream()
        .map(u -> new RegistryClient(u, Map.of(), Runnable::run, WharfMeters.noop())).toList();
    UpstreamRouter router = new UpstreamRouter(clients, c.defaultUpstream());
    UpstreamRouter.Routed gh = router.route("ghcr.io", RepositoryName.of("org/app"));
    assertThat(gh.upstream()).isEqualTo("ghcr.io");
    assertThat(gh.repository().value()).isEqualTo("org/app");
    UpstreamRouter.Routed hub = router.route("docker.io", RepositoryName.of("nginx"));
    assertThat(hub.upstream()).isEqualTo("docker.io");
    assertThat(hub.repository().value()).isEqualTo("library/nginx");
    assertThat(router.route("registry-1.docker.io", RepositoryName.of("nginx")).upstream())
        .isEqualTo("docker.io");
    // The parent's host names neither upstream: it is shared.
    assertThatThrownBy(() -> router.route("site-wharf:5000", RepositoryName.of("org/app")))
        .hasMessageContaining("no upstream is configured");
    assertThat(router.route(null, RepositoryName.of("ghcr.io/org/app")).upstream())
        .isEqualTo("ghcr.io");
  }
}
