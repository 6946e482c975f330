package io.wharf.server;

import static org.assertj.core.api.Assertions.assertThat;

import io.wharf.core.testing.TestImages;
import io.wharf.server.testing.WharfOnScriptedUpstream;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Base64;
import org.bouncycastle.crypto.generators.OpenBSDBCrypt;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** Client access control on a running server: Basic auth against htpasswd, allowed networks. */
@Timeout(60)
class AccessIT extends WharfOnScriptedUpstream {

  private static String basic(String user, String password) {
    return "Basic " + Base64.getEncoder().encodeToString(
        (user + ":" + password).getBytes(StandardCharsets.UTF_8));
  }

  private Path htpasswd(String user, String password) throws Exception {
    byte[] salt = new byte[16];
    new java.security.SecureRandom().nextBytes(salt);
    String h = OpenBSDBCrypt.generate("2b", password.toCharArray(), salt, 4);
    Path f = store.resolve("htpasswd");
    Files.writeString(f, user + ":$2y" + h.substring(3) + "\n");
    return f;
  }

  @Test
  void basicAuth_challenge_wrongPassword_rightPassword() throws Exception {
    TestImages.Image img = TestImages.image(1, 10);
    TestImages.publish(upstream, "app", "v1", img);
    Path f = htpasswd("node", "p@ss:w/rd%&?");
    start("", "    access: {htpasswd: " + f + "}\n", "");

    HttpResponse<byte[]> base = client.get("/v2/");
    assertThat(base.statusCode()).isEqualTo(401);
    assertThat(base.headers().firstValue("WWW-Authenticate")).get().asString()
        .startsWith("Basic realm=\"wharf up\"");
    HttpResponse<byte[]> anon = client.get("/v2/app/manifests/v1");
    assertThat(anon.statusCode()).isEqualTo(401);
    assertThat(new String(anon.body(), StandardCharsets.UTF_8)).contains("UNAUTHORIZED");
    assertThat(client.get("/v2/app/manifests/v1", "Authorization", basic("node", "nope")).statusCode())
        .isEqualTo(401);
    assertThat(upstream.counts()).as("nothing reached upstream for refused clients").isEmpty();

    assertThat(client.get("/v2/", "Authorization", basic("node", "p@ss:w/rd%&?")).statusCode()).isEqualTo(200);
    HttpResponse<byte[]> ok = client.get("/v2/app/manifests/v1", "Authorization", basic("node", "p@ss:w/rd%&?"));
    assertThat(ok.statusCode()).isEqualTo(200);
    assertThat(ok.body()).isEqualTo(img.manifest());
    assertThat(upstream.lastHeader("GET /v2/app/manifests/v1", "authorization"))
        .as("client credentials never go upstream").isNull();
    HttpResponse<byte[]> blob = client.get("/v2/app/blobs/" + img.layerDigest(0),
        "Authorization", basic("node", "p@ss:w/rd%&?"));
    assertThat(blob.body()).isEqualTo(img.layers().get(0));
  }

  @Test
  void network_notAllowed_403_allowed_200() throws Exception {
    TestImages.Image img = TestImages.image(2, 10);
    TestImages.publish(upstream, "app", "v1", img);
    start("", "    access: {allow: [10.0.0.0/8]}\n", "");
    HttpResponse<byte[]> r = client.get("/v2/app/manifests/v1");
    assertThat(r.statusCode()).isEqualTo(403);
    assertThat(new String(r.body(), StandardCharsets.UTF_8)).contains("DENIED");
    assertThat(upstream.counts()).isEmpty();
    server.close();
    server = null;
    start("", "    access: {allow: ['127.0.0.0/8', '::1']}\n", "");
    assertThat(client.get("/v2/app/manifests/v1").statusCode()).isEqualTo(200);
  }
}
