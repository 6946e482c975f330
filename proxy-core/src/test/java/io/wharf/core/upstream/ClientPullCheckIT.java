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
import io.wharf.core.oci.RepositoryName;
import io.wharf.core.upstream.RegistryClient.PullCheck;
import java.nio.charset.StandardCharsets;
import java.util.Base64;
import org.junit.jupiter.api.Test;

/** {@link RegistryClient#checkPullAs}: the client's own credentials against a registry. */
class ClientPullCheckIT extends UpstreamItSupport {

  static final RepositoryName APP = RepositoryName.of("team/app");
  static final String PROBE = "/v2/team/app/tags/list?n=1";
  static final String ALICE = basic("alice", "a:l/i%ce");

  static String basic(String user, String pass) {
    return "Basic " + Base64.getEncoder().encodeToString(
        (user + ":" + pass).getBytes(StandardCharsets.UTF_8));
  }

  /** A token registry: the probe needs {@code Bearer good}; alice's Basic gets that token. */
  void tokenRegistry() {
    registry.stubFor(get(urlEqualTo(PROBE)).atPriority(1)
        .withHeader("Authorization", equalTo("Bearer good"))
        .willReturn(okJson("{\"name\":\"team/app\",\"tags\":[\"v1\"]}")));
    registry.stubFor(get(urlEqualTo(PROBE)).atPriority(10)
        .willReturn(aResponse().withStatus(401)
            .withHeader("WWW-Authenticate", bearerChallenge("team/app"))));
    registry.stubFor(get(urlPathEqualTo("/token")).atPriority(1)
        .withHeader("Authorization", equalTo(ALICE))
        .willReturn(okJson("{\"token\":\"good\"}")));
    registry.stubFor(get(urlPathEqualTo("/token")).atPriority(10)
        .willReturn(aResponse().withStatus(401)));
  }

  @Test
  void bearerFlow_clientCredentialsAtTheRealm_tokenNotReused() throws Exception {
    tokenRegistry();
    RegistryClient c = client(Credentials.basic("wharf", "wharf-pw"));

    assertThat(await(c.checkPullAs(APP, ALICE))).isEqualTo(PullCheck.ALLOWED);
    registry.verify(1, getRequestedFor(urlPathEqualTo("/token"))
        .withQueryParam("scope", equalTo("repository:team/app:pull"))
        .withQueryParam("service", equalTo("test-registry"))
        .withHeader("Authorization", equalTo(ALICE)));
    registry.verify(getRequestedFor(urlEqualTo(PROBE)).withHeader("Authorization", equalTo("Bearer good")));

    // The challenge is remembered (no wasted attempt), the client's token is not: ask again.
    assertThat(await(c.checkPullAs(APP, ALICE))).isEqualTo(PullCheck.ALLOWED);
    registry.verify(2, getRequestedFor(urlPathEqualTo("/token")));
    registry.verify(3, getRequestedFor(urlEqualTo(PROBE)));
    registry.verify(0, getRequestedFor(urlPathEqualTo("/token"))
        .withHeader("Authorization", equalTo(basic("wharf", "wharf-pw"))));
    assertThat(requests("pull_check", "ok")).isEqualTo(2);
  }

  @Test
  void bearerFlow_tokenEndpointRefusesTheClient_denied() throws Exception {
    tokenRegistry();
    RegistryClient c = client();
    assertThat(await(c.checkPullAs(APP, basic("mallory", "x")))).isEqualTo(PullCheck.DENIED);
    registry.verify(0, getRequestedFor(urlEqualTo(PROBE)).withHeader("Authorization", equalTo("Bearer good")));
  }

  @Test
  void bearerFlow_tokenWithoutPullRights_denied() throws Exception {
    tokenRegistry();
    registry.stubFor(get(urlPathEqualTo("/token")).atPriority(1)
        .withHeader("Authorization", equalTo(ALICE))
        .willReturn(okJson("{\"token\":\"no-access\"}")));
    assertThat(await(client().checkPullAs(APP, ALICE))).isEqualTo(PullCheck.DENIED);
  }

  @Test
  void notFound_and_serverError() throws Exception {
    registry.stubFor(get(urlEqualTo(PROBE)).willReturn(aResponse().withStatus(404)));
    RegistryClient c = client();
    assertThat(await(c.checkPullAs(APP, ALICE))).isEqualTo(PullCheck.NOT_FOUND);
    registry.stubFor(get(urlEqualTo(PROBE)).willReturn(aResponse().withStatus(500)));
    UpstreamException e = failure(c.checkPullAs(APP, ALICE));
    assertThat(e.kind()).isEqualTo(UpstreamException.Kind.SERVER_ERROR);
    assertThat(allMessages(e)).doesNotContain(ALICE.substring(6)).doesNotContain("a:l/i%ce");
  }

  @Test
  void basicRegistry_clientCredentialsSentDirectly_wharfCredentialsNever() throws Exception {
    registry.stubFor(get(urlEqualTo(PROBE)).atPriority(1).withHeader("Authorization", equalTo(ALICE))
        .willReturn(okJson("{}")));
    registry.stubFor(get(urlEqualTo(PROBE)).atPriority(10).willReturn(aResponse().withStatus(401)
        .withHeader("WWW-Authenticate", "Basic realm=\"r\"")));
    RegistryClient c = client(Credentials.basic("wharf", "wharf-pw"));
    assertThat(await(c.checkPullAs(APP, ALICE))).isEqualTo(PullCheck.ALLOWED);
    assertThat(await(c.checkPullAs(APP, basic("bob", "b")))).isEqualTo(PullCheck.DENIED);
    registry.verify(0, getRequestedFor(urlEqualTo(PROBE))
        .withHeader("Authorization", equalTo(basic("wharf", "wharf-pw"))));
    registry.verify(0, getRequestedFor(urlEqualTo(PROBE)).withHeader("Authorization", absent()));
  }
}
