package io.wharf.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.wharf.core.testing.TestImages;
import io.wharf.server.testing.WharfOnScriptedUpstream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Pass-through mode on a running server: clients send their own credentials at the upstream, and
 * a repository is served to them only after the upstream confirmed those credentials for it.
 */
@Timeout(60)
class PassThroughIT extends WharfOnScriptedUpstream {

  private static final String WHARF = basic("wharf", "wharf-pw");
  private static final String ALICE = basic("alice", "alice-pw");
  private static final String BOB = basic("bob", "bob-pw");
  private static final String PROBE_A = "GET /v2/private/a/tags/list";

  private TestImages.Image img;

  private static String basic(String user, String password) {
    return "Basic " + Base64.getEncoder().encodeToString(
        (user + ":" + password).getBytes(StandardCharsets.UTF_8));
  }

  @BeforeEach
  void privateRepositories() {
    img = TestImages.image(3, 2000);
    TestImages.publish(upstream, "private/a", "v1", img);
    upstream.allowBasic("private/a", "wharf", "wharf-pw");
    upstream.allowBasic("private/a", "alice", "alice-pw");
    TestImages.publish(upstream, "private/b", "v1", TestImages.image(4, 10));
    upstream.allowBasic("private/b", "wharf", "wharf-pw");
    upstream.allowBasic("private/b", "bob", "bob-pw");
  }

  private void startPassThrough(String ttl) {
    start("", "    credentials: {username: wharf, password: wharf-pw}\n"
        + "    access: {passThrough: true, passThroughTtl: " + ttl + "}\n", "");
  }

  private double passThroughChecks(String result, String source) {
    var c = server.services().meters().registry().find("wharf.passthrough.auth")
        .tags("result", result, "source", source).counter();
    return c == null ? 0 : c.count();
  }

  private String layer() {
    return "/v2/private/a/blobs/" + img.layerDigest(0);
  }

  @Test
  void allowed_confirmedOnce_withinTtl_andContentFetchedWithWharfsCredentials() throws Exception {
    startPassThrough("60s");
    HttpResponse<byte[]> m = client.get("/v2/private/a/manifests/v1", "Authorization", ALICE);
    assertThat(m.statusCode()).isEqualTo(200);
    assertThat(m.body()).isEqualTo(img.manifest());
    HttpResponse<byte[]> b = client.get(layer(), "Authorization", ALICE);
    assertThat(b.statusCode()).isEqualTo(200);
    assertThat(b.body()).isEqualTo(img.layers().get(0));
    assertThat(client.get(layer(), "Authorization", ALICE).body()).isEqualTo(img.layers().get(0));

    assertThat(upstream.count(PROBE_A)).as("one confirmation for alice and private/a").isEqualTo(1);
    assertThat(upstream.lastHeader(PROBE_A, "authorization"))
        .as("the confirmation uses the client's own credentials").isEqualTo(ALICE);
    assertThat(upstream.lastHeader("GET /v2/private/a/manifests/v1", "authorization"))
        .as("content is fetched with Wharf's credentials, never the client's").isEqualTo(WHARF);
    assertThat(upstream.lastHeader("GET /v2/private/a/blobs/" + img.layerDigest(0), "authorization"))
        .isEqualTo(WHARF);
    assertThat(upstream.blobGets(img.layerDigest(0))).isEqualTo(1);
    assertThat(passThroughChecks("allowed", "upstream")).isEqualTo(1);
    assertThat(passThroughChecks("allowed", "cache")).isEqualTo(2);
  }

  @Test
  void otherClient_deniedEvenThoughCached_andTheDenialIsRemembered() throws Exception {
    startPassThrough("60s");
    assertThat(client.get("/v2/private/a/manifests/v1", "Authorization", ALICE).statusCode())
        .isEqualTo(200);
    assertThat(client.get(layer(), "Authorization", ALICE).statusCode()).isEqualTo(200);
    int blobGets = upstream.blobGets(img.layerDigest(0));

    HttpResponse<byte[]> blob = client.get(layer(), "Authorization", BOB);
    assertThat(blob.statusCode()).isEqualTo(403);
    assertThat(new String(blob.body(), StandardCharsets.UTF_8)).contains("DENIED");
    assertThat(blob.body().length).isLessThan(img.layers().get(0).length);
    assertThat(client.get("/v2/private/a/manifests/v1", "Authorization", BOB).statusCode())
        .isEqualTo(403);
    assertThat(client.head(layer(), "Authorization", BOB).statusCode()).isEqualTo(403);
    assertThat(upstream.count(PROBE_A)).as("alice once, bob once (his no is remembered)")
        .isEqualTo(2);
    assertThat(upstream.blobGets(img.layerDigest(0))).isEqualTo(blobGets);
    assertThat(passThroughChecks("denied", "upstream")).isEqualTo(1);
    assertThat(passThroughChecks("denied", "cache")).isEqualTo(2);

    assertThat(client.get("/v2/private/a/manifests/v1", "Authorization", basic("alice", "wrong"))
        .statusCode()).as("wrong password at the upstream").isEqualTo(403);
    assertThat(client.get("/v2/private/nothing/manifests/v1", "Authorization", ALICE).statusCode())
        .as("a repository the upstream does not show these credentials").isEqualTo(403);
    assertThat(client.get("/v2/private/b/manifests/v1", "Authorization", BOB).statusCode())
        .isEqualTo(200);
  }

  @Test
  void noCredentials_challenge_and_nothingReachesTheUpstream() throws Exception {
    startPassThrough("60s");
    HttpResponse<byte[]> r = client.get("/v2/private/a/manifests/v1");
    assertThat(r.statusCode()).isEqualTo(401);
    assertThat(r.headers().firstValue("WWW-Authenticate")).get().asString()
        .startsWith("Basic realm=\"wharf up\"");
    assertThat(client.get("/v2/").statusCode()).isEqualTo(401);
    assertThat(client.get(layer(), "Authorization", "Bearer whatever").statusCode()).isEqualTo(401);
    assertThat(upstream.counts()).isEmpty();
    assertThat(client.get("/v2/", "Authorization", ALICE).statusCode()).isEqualTo(200);
  }

  @Test
  void ttlExpiry_reconfirms() throws Exception {
    startPassThrough("1s");
    assertThat(client.get(layer(), "Authorization", ALICE).statusCode()).isEqualTo(200);
    assertThat(upstream.count(PROBE_A)).isEqualTo(1);
    await().atMost(Duration.ofSeconds(10)).pollInterval(Duration.ofMillis(200)).untilAsserted(() -> {
      assertThat(client.get(layer(), "Authorization", ALICE).statusCode()).isEqualTo(200);
      assertThat(upstream.count(PROBE_A)).isEqualTo(2);
    });
  }

  @Test
  void upstreamDown_servedOnlyWithAStillValidConfirmation() throws Exception {
    startPassThrough("60s");
    assertThat(client.get(layer(), "Authorization", ALICE).statusCode()).isEqualTo(200);
    upstream.close();
    HttpResponse<byte[]> cached = client.get(layer(), "Authorization", ALICE);
    assertThat(cached.statusCode()).isEqualTo(200);
    assertThat(cached.body()).isEqualTo(img.layers().get(0));
    HttpResponse<byte[]> unconfirmed = client.get(layer(), "Authorization", BOB);
    assertThat(unconfirmed.statusCode()).isEqualTo(503);
    assertThat(passThroughChecks("error", "upstream")).isEqualTo(1);
    assertThat(new String(unconfirmed.body(), StandardCharsets.UTF_8))
        .contains("UNAVAILABLE").doesNotContain("bob-pw")
        .doesNotContain(BOB.substring(6));
  }

  @Test
  void concurrentRequests_shareOneConfirmation() throws Exception {
    startPassThrough("60s");
    HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
    List<CompletableFuture<HttpResponse<byte[]>>> all = new ArrayList<>();
    for (int i = 0; i < 50; i++) {
      all.add(http.sendAsync(HttpRequest.newBuilder(
              URI.create("http://127.0.0.1:" + server.port() + layer()))
          .header("Authorization", ALICE).build(), HttpResponse.BodyHandlers.ofByteArray()));
    }
    for (CompletableFuture<HttpResponse<byte[]>> f : all) {
      HttpResponse<byte[]> r = f.get();
      assertThat(r.statusCode()).isEqualTo(200);
      assertThat(r.body()).isEqualTo(img.layers().get(0));
    }
    assertThat(upstream.count(PROBE_A)).isEqualTo(1);
  }
}
