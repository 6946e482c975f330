package io.wharf.core.upstream;

import static com.github.tomakehurst.wiremock.client.WireMock.aResponse;
import static com.github.tomakehurst.wiremock.client.WireMock.equalTo;
import static com.github.tomakehurst.wiremock.client.WireMock.get;
import static com.github.tomakehurst.wiremock.client.WireMock.getRequestedFor;
import static com.github.tomakehurst.wiremock.client.WireMock.urlEqualTo;
import static org.assertj.core.api.Assertions.assertThat;

import io.wharf.core.config.Credentials;
import io.wharf.core.config.UpstreamConfig;
import io.wharf.core.oci.ErrorCode;
import io.wharf.core.oci.Reference;
import io.wharf.core.oci.RepositoryName;
import io.wharf.core.upstream.UpstreamException.Kind;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.time.Duration;
import java.time.ZoneOffset;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.Test;

class RegistryClientErrorsIT extends UpstreamItSupport {

  static final RepositoryName REPO = RepositoryName.of("library/nginx");
  static final String PATH = "/v2/library/nginx/manifests/1.27";

  CompletableFuture<ManifestResponse> fetch(RegistryClient c) {
    return c.getManifest(REPO, Reference.parse("1.27"), null);
  }

  UpstreamConfig configFor(String url, Duration requestTimeout) {
    return new UpstreamConfig(UPSTREAM, url, null, Credentials.NONE, null, null,
        Duration.ofSeconds(2), requestTimeout, null, null, null, null, null, null, null, null, null, null)
        .withDefaults();
  }

  @Test
  void status429WithRetryAfterSeconds_rateLimited429() {
    registry.stubFor(get(urlEqualTo(PATH)).willReturn(aResponse().withStatus(429).withHeader("Retry-After", "7")));

    UpstreamException e = failure(fetch(client()));

    assertThat(e.kind()).isEqualTo(Kind.RATE_LIMITED);
    assertThat(e.code()).isEqualTo(ErrorCode.TOOMANYREQUESTS);
    assertThat(e.status()).isEqualTo(429);
    assertThat(e.retryAfterSeconds()).isEqualTo(7);
    assertThat(e.isTransient()).isTrue();
    assertThat(e.getMessage()).isEqualTo("fetch manifest library/nginx:1.27 from test.reg: upstream answered 429");
    assertThat(requests("manifest", "rate_limited")).isEqualTo(1);
  }

  @Test
  void status429WithRetryAfterDate_secondsUntilThen() {
    String inAMinute = DateTimeFormatter.RFC_1123_DATE_TIME.format(ZonedDateTime.now(ZoneOffset.UTC).plusSeconds(60));
    registry.stubFor(get(urlEqualTo(PATH)).willReturn(aResponse().withStatus(429).withHeader("Retry-After", inAMinute)));

    UpstreamException e = failure(fetch(client()));

    assertThat(e.retryAfterSeconds()).isBetween(50L, 61L);
  }

  @Test
  void status503_serverError503() {
    registry.stubFor(get(urlEqualTo(PATH)).willReturn(aResponse().withStatus(503)));

    UpstreamException e = failure(fetch(client()));

    assertThat(e.kind()).isEqualTo(Kind.SERVER_ERROR);
    assertThat(e.code()).isEqualTo(ErrorCode.UNAVAILABLE);
    assertThat(e.status()).isEqualTo(503);
    assertThat(requests("manifest", "server_error")).isEqualTo(1);
  }

  @Test
  void status502_serverError502() {
    registry.stubFor(get(urlEqualTo(PATH)).willReturn(aResponse().withStatus(502)));

    UpstreamException e = failure(fetch(client()));

    assertThat(e.kind()).isEqualTo(Kind.SERVER_ERROR);
    assertThat(e.status()).isEqualTo(502);
  }

  @Test
  void unexpectedStatus_badResponse502() {
    registry.stubFor(get(urlEqualTo(PATH)).willReturn(aResponse().withStatus(418)));

    UpstreamException e = failure(fetch(client()));

    assertThat(e.kind()).isEqualTo(Kind.BAD_RESPONSE);
    assertThat(e.status()).isEqualTo(502);
    assertThat(e.isTransient()).isFalse();
  }

  @Test
  void status401WithoutChallenge_badResponse() {
    registry.stubFor(get(urlEqualTo(PATH)).willReturn(aResponse().withStatus(401)));

    UpstreamException e = failure(fetch(client()));

    assertThat(e.kind()).isEqualTo(Kind.BAD_RESPONSE);
    assertThat(e.getMessage()).contains("WWW-Authenticate");
  }

  @Test
  void connectionRefused_unreachable502() throws Exception {
    int port;
    try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      port = s.getLocalPort();
    }

    UpstreamException e = failure(fetch(client(configFor("http://127.0.0.1:" + port, Duration.ofSeconds(5)), Map.of())));

    assertThat(e.kind()).isEqualTo(Kind.UNREACHABLE);
    assertThat(e.code()).isEqualTo(ErrorCode.UNAVAILABLE);
    assertThat(e.status()).isEqualTo(502);
    assertThat(e.getMessage()).startsWith("fetch manifest library/nginx:1.27 from test.reg: ");
    assertThat(requests("manifest", "unreachable")).isEqualTo(1);
  }

  @Test
  void tlsToPlainHttpPort_unreachable502() {
    UpstreamException e =
        failure(fetch(client(configFor("https://127.0.0.1:" + registry.port(), Duration.ofSeconds(5)), Map.of())));

    assertThat(e.kind()).isEqualTo(Kind.UNREACHABLE);
    assertThat(e.status()).isEqualTo(502);
  }

  @Test
  void slowHeaders_timeout504() {
    registry.stubFor(get(urlEqualTo(PATH)).willReturn(aResponse().withBody("{}").withFixedDelay(3000)));

    UpstreamException e = failure(fetch(client(configFor(registryUrl(), Duration.ofMillis(300)), Map.of())));

    assertThat(e.kind()).isEqualTo(Kind.TIMEOUT);
    assertThat(e.code()).isEqualTo(ErrorCode.UNAVAILABLE);
    assertThat(e.status()).isEqualTo(504);
    assertThat(requests("manifest", "timeout")).isEqualTo(1);
  }

  @Test
  void httpProxyEnv_requestGoesThroughProxy() throws Exception {
    // "storage" plays the proxy; the registry host does not resolve, so only the proxy can answer
    storage.stubFor(get(urlEqualTo(PATH)).withHost(equalTo("registry.invalid"))
        .willReturn(aResponse().withBody("{\"via\":\"proxy\"}")));

    ManifestResponse r = await(fetch(client(configFor("http://registry.invalid:5000", Duration.ofSeconds(5)),
        Map.of("HTTP_PROXY", storageUrl()))));

    assertThat(r.body()).isEqualTo(bytes("{\"via\":\"proxy\"}"));
    storage.verify(1, getRequestedFor(urlEqualTo(PATH)).withHeader("Accept-Encoding", equalTo("identity")));
  }

  @Test
  void httpProxyEnv_hostInNoProxy_goesDirect() {
    storage.stubFor(get(urlEqualTo(PATH)).willReturn(aResponse().withBody("{}")));

    UpstreamException e = failure(fetch(client(configFor("http://registry.invalid:5000", Duration.ofSeconds(5)),
        Map.of("http_proxy", storageUrl(), "no_proxy", ".invalid"))));

    assertThat(e.kind()).isEqualTo(Kind.UNREACHABLE);
    storage.verify(0, getRequestedFor(urlEqualTo(PATH)));
  }
}
