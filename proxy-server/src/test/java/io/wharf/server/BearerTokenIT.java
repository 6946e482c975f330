package io.wharf.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.wharf.core.testing.TestImages;
import io.wharf.server.testing.WharfOnScriptedUpstream;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Base64;
import org.bouncycastle.crypto.generators.OpenBSDBCrypt;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** Wharf-issued Bearer tokens: the docker GET flow, the containerd POST flow, and refusals. */
@Timeout(60)
class BearerTokenIT extends WharfOnScriptedUpstream {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final String PASSWORD = "s3cret:pw";
  private TestImages.Image img;
  private Path htpasswd;

  @BeforeEach
  void image() throws Exception {
    img = TestImages.image(11, 5_000);
    TestImages.publish(upstream, "app", "v1", img);
    TestImages.publish(upstream, "secret", "v1", TestImages.image(12, 100));
    byte[] salt = new byte[16];
    new java.security.SecureRandom().nextBytes(salt);
    String h = OpenBSDBCrypt.generate("2b", PASSWORD.toCharArray(), salt, 4);
    htpasswd = store.resolve("htpasswd");
    Files.writeString(htpasswd, "node:$2y" + h.substring(3) + "\n");
  }

  private void startBearer(String serverYaml) {
    String access = "    access: {htpasswd: " + htpasswd + ", bearer: true}\n";
    start("", access + "  - name: other\n    url: " + upstream.url() + "\n" + access, serverYaml);
  }

  private static String basic(String user, String password) {
    return "Basic " + Base64.getEncoder().encodeToString(
        (user + ":" + password).getBytes(StandardCharsets.UTF_8));
  }

  private String base() {
    return "http://127.0.0.1:" + server.port();
  }

  private String dockerToken(String upstreamName, String repo) throws Exception {
    HttpResponse<byte[]> r = client.get("/token/" + upstreamName + "?service=wharf&scope="
        + URLEncoder.encode("repository:" + repo + ":pull", StandardCharsets.UTF_8),
        "Authorization", basic("node", PASSWORD));
    assertThat(r.statusCode()).isEqualTo(200);
    JsonNode j = JSON.readTree(r.body());
    assertThat(j.path("access_token").asText()).isEqualTo(j.path("token").asText());
    assertThat(j.path("expires_in").asLong()).isPositive();
    assertThat(j.path("issued_at").asText()).isNotBlank();
    return j.path("token").asText();
  }

  private HttpResponse<byte[]> post(String path, String form) throws Exception {
    return HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create(base() + path))
        .header("Content-Type", "application/x-www-form-urlencoded")
        .POST(HttpRequest.BodyPublishers.ofString(form)).build(),
        HttpResponse.BodyHandlers.ofByteArray());
  }

  @Test
  void dockerFlow_challenge_tokenWithBasic_pull() throws Exception {
    startBearer("");
    HttpResponse<byte[]> v2 = client.get("/v2/");
    assertThat(v2.statusCode()).isEqualTo(401);
    assertThat(v2.headers().firstValue("WWW-Authenticate")).get().asString()
        .isEqualTo("Bearer realm=\"" + base() + "/token/up\",service=\"wharf\"");
    HttpResponse<byte[]> anon = client.get("/v2/app/manifests/v1");
    assertThat(anon.statusCode()).isEqualTo(401);
    assertThat(anon.headers().firstValue("WWW-Authenticate")).get().asString()
        .isEqualTo("Bearer realm=\"" + base() + "/token/up\",service=\"wharf\","
            + "scope=\"repository:app:pull\"");

    String token = dockerToken("up", "app");
    assertThat(client.get("/v2/", "Authorization", "Bearer " + token).statusCode()).isEqualTo(200);
    assertThat(client.get("/v2/app/manifests/v1", "Authorization", "Bearer " + token).body())
        .isEqualTo(img.manifest());
    assertThat(client.get("/v2/app/blobs/" + img.layerDigest(0), "Authorization", "Bearer " + token)
        .body()).isEqualTo(img.layers().get(0));
    assertThat(upstream.lastHeader("GET /v2/app/manifests/v1", "authorization"))
        .as("client tokens never go upstream").isNull();

    // The token covers its scope only; Basic stays accepted.
    assertThat(client.get("/v2/secret/manifests/v1", "Authorization", "Bearer " + token)
        .statusCode()).isEqualTo(401);
    assertThat(client.get("/v2/secret/manifests/v1", "Authorization", basic("node", PASSWORD))
        .statusCode()).isEqualTo(200);
  }

  @Test
  void containerdFlow_oauthPost_pull() throws Exception {
    startBearer("");
    HttpResponse<byte[]> r = post("/token/up", "grant_type=password&username=node&password="
        + URLEncoder.encode(PASSWORD, StandardCharsets.UTF_8)
        + "&scope=repository%3Aapp%3Apull&service=wharf&client_id=containerd-client");
    assertThat(r.statusCode()).isEqualTo(200);
    String token = JSON.readTree(r.body()).path("access_token").asText();
    assertThat(client.get("/v2/app/manifests/v1?ns=up", "Authorization", "Bearer " + token).body())
        .isEqualTo(img.manifest());

    HttpResponse<byte[]> wrong = post("/token/up", "grant_type=password&username=node&password=no"
        + "&scope=repository%3Aapp%3Apull&service=wharf");
    assertThat(wrong.statusCode()).isEqualTo(401);
    assertThat(JSON.readTree(wrong.body()).path("error").asText()).isEqualTo("invalid_grant");
    assertThat(post("/token/up", "grant_type=client_credentials").statusCode()).isEqualTo(400);
    assertThat(post("/token/up", "grant_type=password&username=node&password=" + "x".repeat(9000))
        .statusCode()).isEqualTo(400);
  }

  @Test
  void wrongPassword_401_noToken() throws Exception {
    startBearer("");
    HttpResponse<byte[]> r = client.get("/token/up?service=wharf&scope=repository:app:pull",
        "Authorization", basic("node", "wrong"));
    assertThat(r.statusCode()).isEqualTo(401);
    assertThat(new String(r.body(), StandardCharsets.UTF_8)).doesNotContain("token\"");
    assertThat(client.get("/token/up?scope=repository:app:pull").statusCode()).isEqualTo(401);
    assertThat(client.get("/v2/app/manifests/v1", "Authorization", "Bearer w1.forged.sig")
        .statusCode()).isEqualTo(401);
    assertThat(client.get("/token/nosuch?scope=repository:app:pull",
        "Authorization", basic("node", PASSWORD)).statusCode()).isEqualTo(404);
  }

  @Test
  void tokenForOneUpstream_rejectedOnAnother() throws Exception {
    startBearer("");
    String forUp = dockerToken("up", "app");
    HttpResponse<byte[]> r = client.get("/v2/app/manifests/v1?ns=other",
        "Authorization", "Bearer " + forUp);
    assertThat(r.statusCode()).isEqualTo(401);
    assertThat(r.headers().firstValue("WWW-Authenticate")).get().asString()
        .contains("/token/other\"");
    String forOther = dockerToken("other", "app");
    assertThat(client.get("/v2/app/manifests/v1?ns=other", "Authorization", "Bearer " + forOther)
        .statusCode()).isEqualTo(200);
  }

  @Test
  void expiredToken_rejected() throws Exception {
    startBearer("  tokens: {ttl: 1s}\n");
    String token = dockerToken("up", "app");
    await().atMost(Duration.ofSeconds(10)).pollInterval(Duration.ofMillis(200)).until(() ->
        client.get("/v2/app/manifests/v1", "Authorization", "Bearer " + token).statusCode() == 401);
  }
}
