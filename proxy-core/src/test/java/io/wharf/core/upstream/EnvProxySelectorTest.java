package io.wharf.core.upstream;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.InetSocketAddress;
import java.net.Proxy;
import java.net.URI;
import java.util.Map;
import org.junit.jupiter.api.Test;

class EnvProxySelectorTest {

  @Test
  void fromEnv_noProxyVariables_null() {
    assertThat(EnvProxySelector.fromEnv(Map.of("NO_PROXY", "x", "PATH", "/bin"))).isNull();
  }

  @Test
  void select_httpsUrl_usesHttpsProxy_httpUrl_usesHttpProxy() {
    EnvProxySelector sel =
        EnvProxySelector.fromEnv(Map.of("HTTPS_PROXY", "http://secure.proxy:3128", "HTTP_PROXY", "plain.proxy:8080"));

    assertThat(address(sel.select(URI.create("https://registry-1.docker.io/v2/")).get(0)))
        .isEqualTo("secure.proxy:3128");
    assertThat(address(sel.select(URI.create("http://registry.local:5000/v2/")).get(0)))
        .isEqualTo("plain.proxy:8080");
  }

  @Test
  void select_onlyHttpProxySet_httpsGoesDirect() {
    EnvProxySelector sel = EnvProxySelector.fromEnv(Map.of("HTTP_PROXY", "http://p:1"));

    assertThat(sel.select(URI.create("https://ghcr.io/v2/"))).containsExactly(Proxy.NO_PROXY);
  }

  @Test
  void fromEnv_lowerCaseVariables_honoured_defaultPort80() {
    EnvProxySelector sel = EnvProxySelector.fromEnv(Map.of("https_proxy", "http://lower.proxy"));

    assertThat(address(sel.select(URI.create("https://quay.io/v2/")).get(0))).isEqualTo("lower.proxy:80");
  }

  @Test
  void select_noProxyDomains_matchDomainAndSubdomainsOnly() {
    EnvProxySelector sel =
        EnvProxySelector.fromEnv(Map.of("HTTPS_PROXY", "http://p:1", "no_proxy", "example.com, .corp.local,*.svc"));

    assertThat(sel.select(URI.create("https://example.com/v2/"))).containsExactly(Proxy.NO_PROXY);
    assertThat(sel.select(URI.create("https://registry.example.com/v2/"))).containsExactly(Proxy.NO_PROXY);
    assertThat(sel.select(URI.create("https://corp.local/v2/"))).containsExactly(Proxy.NO_PROXY);
    assertThat(sel.select(URI.create("https://a.b.corp.local/v2/"))).containsExactly(Proxy.NO_PROXY);
    assertThat(sel.select(URI.create("https://reg.ns.svc/v2/"))).containsExactly(Proxy.NO_PROXY);
    assertThat(sel.select(URI.create("https://notexample.com/v2/"))).doesNotContain(Proxy.NO_PROXY);
    assertThat(sel.select(URI.create("https://example.com.evil.io/v2/"))).doesNotContain(Proxy.NO_PROXY);
  }

  @Test
  void select_noProxyIpsCidrsAndPorts() {
    EnvProxySelector sel =
        EnvProxySelector.fromEnv(
            Map.of("HTTP_PROXY", "http://p:1", "NO_PROXY", "10.0.0.0/8,192.168.1.5,[::1],registry.local:5000"));

    assertThat(sel.select(URI.create("http://10.42.7.9/v2/"))).containsExactly(Proxy.NO_PROXY);
    assertThat(sel.select(URI.create("http://11.0.0.1/v2/"))).doesNotContain(Proxy.NO_PROXY);
    assertThat(sel.select(URI.create("http://192.168.1.5:8080/v2/"))).containsExactly(Proxy.NO_PROXY);
    assertThat(sel.select(URI.create("http://192.168.1.6/v2/"))).doesNotContain(Proxy.NO_PROXY);
    assertThat(sel.select(URI.create("http://[::1]:5000/v2/"))).containsExactly(Proxy.NO_PROXY);
    assertThat(sel.select(URI.create("http://registry.local:5000/v2/"))).containsExactly(Proxy.NO_PROXY);
    assertThat(sel.select(URI.create("http://registry.local:5001/v2/"))).doesNotContain(Proxy.NO_PROXY);
  }

  @Test
  void select_noProxyStar_bypassesEverything() {
    EnvProxySelector sel = EnvProxySelector.fromEnv(Map.of("HTTP_PROXY", "http://p:1", "NO_PROXY", "*"));

    assertThat(sel.select(URI.create("http://anything.example/v2/"))).containsExactly(Proxy.NO_PROXY);
  }

  @Test
  void fromEnv_unsupportedProxyScheme_ignored() {
    assertThat(EnvProxySelector.fromEnv(Map.of("HTTPS_PROXY", "socks5://p:1080"))).isNull();
  }

  private static String address(Proxy p) {
    assertThat(p.type()).isEqualTo(Proxy.Type.HTTP);
    InetSocketAddress a = (InetSocketAddress) p.address();
    return a.getHostString() + ":" + a.getPort();
  }
}
