package io.wharf.core.upstream;

import static com.github.tomakehurst.wiremock.client.WireMock.aResponse;
import static com.github.tomakehurst.wiremock.client.WireMock.absent;
import static com.github.tomakehurst.wiremock.client.WireMock.equalTo;
import static com.github.tomakehurst.wiremock.client.WireMock.get;
import static com.github.tomakehurst.wiremock.client.WireMock.getRequestedFor;
import static com.github.tomakehurst.wiremock.client.WireMock.okJson;
import static com.github.tomakehurst.wiremock.client.WireMock.urlEqualTo;
import static com.github.tomakehurst.wiremock.client.WireMock.urlPathEqualTo;
import static org.assertj.core.api.Assertions.assertThat;

import io.wharf.core.config.Credentials;
import io.wharf.core.oci.ErrorCode;
import io.wharf.core.oci.Reference;
import io.wharf.core.oci.RepositoryName;
import io.wharf.core.upstream.UpstreamException.Kind;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.Test;

class RegistryClientAuthIT extends UpstreamItSupport {

  static final RepositoryName APP = RepositoryName.of("team/app");
  static final String MANIFEST_PATH = "/v2/team/app/manifests/v1";
  static final String PASSWORD = "p@ss:w/o%rd&x?y=1";

  /** Registry wants {@code Bearer <token>}; anything else gets the challenge. */
  void registryRequiresBearer(String token) {
    registry.stubFor(get(urlEqualTo(MANIFEST_PATH)).atPriority(1)
        .withHeader("Authorization", equalTo("Bearer " + token))
        .willReturn(aResponse().withHeader("Content-Type", "application/json").withBody("{}")));
    registry.stubFor(get(urlEqualTo(MANIFEST_PATH)).atPriority(10)
        .willReturn(aResponse().withStatus(401).withHeader("WWW-Authenticate", bearerChallenge("team/app"))));
  }

  void tokenEndpointGives(String json) {
    registry.stubFor(get(urlPathEqualTo("/token")).willReturn(okJson(json)));
  }

  CompletableFuture<ManifestResponse> fetch(RegistryClient c) {
    return c.getManifest(APP, Reference.parse("v1"), null);
  }

  static String basic(String user, String pass) {
    return "Basic " + Base64.getEncoder().encodeToString((user + ":" + pass).getBytes(StandardCharsets.UTF_8));
  }

  @Test
  void bearerChallenge_anonymous_tokenFetchedWithServiceAndScope_retrySucceeds() throws Exception {
    registryRequiresBearer("tok1");
    tokenEndpointGives("{\"token\":\"tok1\",\"expires_in\":300}");

    ManifestResponse r = await(fetch(client()));

    assertThat(r.body()).isEqualTo(bytes("{}"));
    registry.verify(1, getRequestedFor(urlPathEqualTo("/token"))
        .withQueryParam("service", equalTo("test-registry"))
        .withQueryParam("scope", equalTo("repository:team/app:pull"))
        .withHeader("Authorization", absent()));
    registry.verify(1, getRequestedFor(urlEqualTo(MANIFEST_PATH)).withHeader("Authorization", equalTo("Bearer tok1")));
    assertThat(requests("manifest", "challenged")).isEqualTo(1); // the challenge
    assertThat(requests("manifest", "ok")).isEqualTo(1);
    assertThat(requests("token", "ok")).isEqualTo(1);
  }

  @Test
  void bearerChallenge_withCredentials_tokenEndpointGetsBasicWithSpecialCharacterPassword() throws Exception {
    registryRequiresBearer("tok2");
    registry.stubFor(get(urlPathEqualTo("/token"))
        .withHeader("Authorization", equalTo(basic("robot", PASSWORD)))
        .willReturn(okJson("{\"access_token\":\"tok2\"}")));

    await(fetch(client(Credentials.basic("robot", PASSWORD))));

    registry.verify(1, getRequestedFor(urlPathEqualTo("/token")).withBasicAuth(
        new com.github.tomakehurst.wiremock.client.BasicCredentials("robot", PASSWORD)));
    registry.verify(1, getRequestedFor(urlEqualTo(MANIFEST_PATH)).withHeader("Authorization", equalTo("Bearer tok2")));
  }

  @Test
  void tokenCached_secondRequest_noTokenCallAndNoChallenge() throws Exception {
    registryRequiresBearer("tok3");
    tokenEndpointGives("{\"token\":\"tok3\",\"expires_in\":300}");
    RegistryClient c = client();

    await(fetch(c));
    await(fetch(c));
    await(c.headManifest(APP, Reference.parse("v1"), null).exceptionally(t -> null)); // HEAD: no stub, any answer

    registry.verify(1, getRequestedFor(urlPathEqualTo("/token")));
    // only the very first request went without a token: later ones send it pre-emptively
    registry.verify(1, getRequestedFor(urlEqualTo(MANIFEST_PATH)).withHeader("Authorization", absent()));
    registry.verify(2, getRequestedFor(urlEqualTo(MANIFEST_PATH)).withHeader("Authorization", equalTo("Bearer tok3")));
    assertThat(meterRegistry.find("wharf.upstream.token.cache").tag("result", "hit").counter().count()).isEqualTo(2);
    assertThat(meterRegistry.find("wharf.upstream.token.cache").tag("result", "miss").counter().count()).isEqualTo(1);
  }

  @Test
  void tokenCached_twentyConcurrentColdRequests_oneTokenCall() throws Exception {
    registryRequiresBearer("tok4");
    // a slow token endpoint keeps the load in flight while all twenty requests ask for it
    registry.stubFor(get(urlPathEqualTo("/token"))
        .willReturn(okJson("{\"token\":\"tok4\",\"expires_in\":300}").withFixedDelay(500)));
    RegistryClient c = client();

    List<CompletableFuture<ManifestResponse>> all = new ArrayList<>();
    for (int i = 0; i < 20; i++) {
      all.add(fetch(c));
    }
    for (CompletableFuture<ManifestResponse> f : all) {
      assertThat(await(f).body()).isEqualTo(bytes("{}"));
    }

    registry.verify(1, getRequestedFor(urlPathEqualTo("/token")));
    registry.verify(20, getRequestedFor(urlEqualTo(MANIFEST_PATH)).withHeader("Authorization", equalTo("Bearer tok4")));
  }

  @Test
  void tokenExpiry_afterExpiresInMinusMargin_newTokenFetched() throws Exception {
    registryRequiresBearer("tok5");
    tokenEndpointGives("{\"token\":\"tok5\",\"expires_in\":100}");
    RegistryClient c = client();

    await(fetch(c));
    fakeNanos.addAndGet(Duration.ofSeconds(85).toNanos()); // 100 s minus a 10 s margin: still good
    await(fetch(c));
    registry.verify(1, getRequestedFor(urlPathEqualTo("/token")));

    fakeNanos.addAndGet(Duration.ofSeconds(6).toNanos()); // 91 s: past the margin
    await(fetch(c));
    registry.verify(2, getRequestedFor(urlPathEqualTo("/token")));
  }

  @Test
  void staticToken_sentAsBearerOnFirstRequest_noTokenEndpoint() throws Exception {
    registryRequiresBearer("static-secret");

    await(fetch(client(new Credentials(null, null, null, null, null, "static-secret", null, null))));

    registry.verify(1, getRequestedFor(urlEqualTo(MANIFEST_PATH)));
    registry.verify(1, getRequestedFor(urlEqualTo(MANIFEST_PATH)).withHeader("Authorization", equalTo("Bearer static-secret")));
    registry.verify(0, getRequestedFor(urlPathEqualTo("/token")));
  }

  @Test
  void staticTokenRejected_authFailed502_noTokenInMessage() {
    registryRequiresBearer("the-right-one");

    UpstreamException e =
        failure(fetch(client(new Credentials(null, null, null, null, null, "wrong-static", null, null))));

    assertThat(e.kind()).isEqualTo(Kind.AUTH_FAILED);
    assertThat(e.status()).isEqualTo(502);
    assertThat(allMessages(e)).doesNotContain("wrong-static");
  }

  @Test
  void basicChallenge_retriedWithCredentials_thenSentPreemptively() throws Exception {
    registry.stubFor(get(urlEqualTo(MANIFEST_PATH)).atPriority(1)
        .withHeader("Authorization", equalTo(basic("robot", PASSWORD)))
        .willReturn(aResponse().withBody("{}")));
    registry.stubFor(get(urlEqualTo(MANIFEST_PATH)).atPriority(10)
        .willReturn(aResponse().withStatus(401).withHeader("WWW-Authenticate", "Basic realm=\"Registry\"")));
    RegistryClient c = client(Credentials.basic("robot", PASSWORD));

    await(fetch(c));
    await(fetch(c));

    registry.verify(1, getRequestedFor(urlEqualTo(MANIFEST_PATH)).withHeader("Authorization", absent()));
    registry.verify(2, getRequestedFor(urlEqualTo(MANIFEST_PATH)).withHeader("Authorization", equalTo(basic("robot", PASSWORD))));
  }

  @Test
  void basicCredentialsRejected_authFailed502_noPasswordInMessage() {
    registry.stubFor(get(urlEqualTo(MANIFEST_PATH))
        .willReturn(aResponse().withStatus(401).withHeader("WWW-Authenticate", "Basic realm=\"Registry\"")));

    UpstreamException e = failure(fetch(client(Credentials.basic("robot", PASSWORD))));

    assertThat(e.kind()).isEqualTo(Kind.AUTH_FAILED);
    assertThat(e.code()).isEqualTo(ErrorCode.UNAVAILABLE);
    assertThat(e.status()).isEqualTo(502);
    assertThat(e.getMessage()).contains("credentials for upstream test.reg were rejected");
    assertThat(allMessages(e)).doesNotContain(PASSWORD);
    registry.verify(2, getRequestedFor(urlEqualTo(MANIFEST_PATH)));
    assertThat(requests("manifest", "auth_failed")).isEqualTo(1);
  }

  @Test
  void deniedWithFreshToken_nameUnknown404() {
    registry.stubFor(get(urlEqualTo(MANIFEST_PATH))
        .willReturn(aResponse().withStatus(401).withHeader("WWW-Authenticate", bearerChallenge("team/app"))));
    tokenEndpointGives("{\"token\":\"useless\",\"expires_in\":300}");

    UpstreamException e = failure(fetch(client()));

    assertThat(e.kind()).isEqualTo(Kind.NAME_UNKNOWN);
    assertThat(e.code()).isEqualTo(ErrorCode.NAME_UNKNOWN);
    assertThat(e.status()).isEqualTo(404);
    assertThat(e.getMessage())
        .startsWith("fetch manifest team/app:v1 from test.reg: ")
        .contains("repository team/app not found on test.reg or access denied");
    registry.verify(1, getRequestedFor(urlPathEqualTo("/token")));
    registry.verify(2, getRequestedFor(urlEqualTo(MANIFEST_PATH)));
  }

  @Test
  void forbiddenWithFreshToken_nameUnknown404() {
    registry.stubFor(get(urlEqualTo(MANIFEST_PATH)).atPriority(1)
        .withHeader("Authorization", equalTo("Bearer t"))
        .willReturn(aResponse().withStatus(403)));
    registry.stubFor(get(urlEqualTo(MANIFEST_PATH)).atPriority(10)
        .willReturn(aResponse().withStatus(401).withHeader("WWW-Authenticate", bearerChallenge("team/app"))));
    tokenEndpointGives("{\"token\":\"t\"}");

    UpstreamException e = failure(fetch(client()));

    assertThat(e.kind()).isEqualTo(Kind.NAME_UNKNOWN);
    assertThat(e.status()).isEqualTo(404);
  }

  @Test
  void cachedTokenRevoked_refetchedOnceAndRetried() throws Exception {
    registryRequiresBearer("old");
    tokenEndpointGives("{\"token\":\"old\",\"expires_in\":3000}");
    RegistryClient c = client();
    await(fetch(c));

    registry.resetAll();
    registryRequiresBearer("new");
    tokenEndpointGives("{\"token\":\"new\",\"expires_in\":3000}");
    ManifestResponse r = await(fetch(c));

    assertThat(r.body()).isEqualTo(bytes("{}"));
    registry.verify(1, getRequestedFor(urlPathEqualTo("/token")));
    registry.verify(1, getRequestedFor(urlEqualTo(MANIFEST_PATH)).withHeader("Authorization", equalTo("Bearer old")));
    registry.verify(1, getRequestedFor(urlEqualTo(MANIFEST_PATH)).withHeader("Authorization", equalTo("Bearer new")));
  }

  @Test
  void tokenEndpointRejectsCredentials_authFailed502_noPasswordInMessage() {
    registryRequiresBearer("never");
    registry.stubFor(get(urlPathEqualTo("/token")).willReturn(aResponse().withStatus(401)));

    UpstreamException e = failure(fetch(client(Credentials.basic("robot", PASSWORD))));

    assertThat(e.kind()).isEqualTo(Kind.AUTH_FAILED);
    assertThat(e.code()).isEqualTo(ErrorCode.UNAVAILABLE);
    assertThat(e.status()).isEqualTo(502);
    assertThat(e.getMessage())
        .startsWith("fetch manifest team/app:v1 from test.reg: ")
        .contains("credentials for upstream test.reg were rejected");
    assertThat(allMessages(e)).doesNotContain(PASSWORD).doesNotContain("robot:");
    assertThat(requests("token", "auth_failed")).isEqualTo(1);
  }

  @Test
  void tokenEndpointSendsNonsense_badResponse502() {
    registryRequiresBearer("never");
    registry.stubFor(get(urlPathEqualTo("/token")).willReturn(aResponse().withBody("<html>login</html>")));

    UpstreamException e = failure(fetch(client()));

    assertThat(e.kind()).isEqualTo(Kind.BAD_RESPONSE);
    assertThat(e.status()).isEqualTo(502);
    assertThat(requests("token", "bad_response")).isEqualTo(1);
  }

  @Test
  void tokenEndpointSendsNoToken_badResponse502() {
    registryRequiresBearer("never");
    tokenEndpointGives("{\"expires_in\":300}");

    UpstreamException e = failure(fetch(client()));

    assertThat(e.kind()).isEqualTo(Kind.BAD_RESPONSE);
    assertThat(e.getMessage()).contains("no token");
  }
}
