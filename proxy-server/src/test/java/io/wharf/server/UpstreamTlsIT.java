package io.wharf.server;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.handler.ssl.util.SelfSignedCertificate;
import io.wharf.core.testing.ScriptedUpstream;
import io.wharf.core.testing.TestImages;
import io.wharf.server.testing.WharfOnScriptedUpstream;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.security.cert.Certificate;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** Upstream TLS: system trust only, a per-upstream CA bundle, and the lab-only insecure flag. */
@Timeout(60)
class UpstreamTlsIT extends WharfOnScriptedUpstream {
  private SelfSignedCertificate cert;
  private TestImages.Image img;

  @BeforeEach
  void tlsUpstream() throws Exception {
    upstream.close();
    cert = new SelfSignedCertificate("localhost");
    KeyStore ks = KeyStore.getInstance("PKCS12");
    ks.load(null, null);
    ks.setKeyEntry("k", cert.key(), new char[0], new Certificate[] {cert.cert()});
    KeyManagerFactory kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
    kmf.init(ks, new char[0]);
    SSLContext ctx = SSLContext.getInstance("TLS");
    ctx.init(kmf.getKeyManagers(), null, null);
    upstream = new ScriptedUpstream(ctx);
    img = TestImages.image(7, 10_000);
    TestImages.publish(upstream, "app", "v1", img);
  }

  @Test
  void selfSigned_withoutCa_502NotTrusted() throws Exception {
    start("", "", "");
    HttpResponse<byte[]> r = client.get("/v2/app/manifests/v1");
    assertThat(r.statusCode()).isEqualTo(502);
    assertThat(new String(r.body(), StandardCharsets.UTF_8))
        .contains("certificate is not trusted").contains("tls.caBundle");
  }

  @Test
  void selfSigned_withCaBundle_pulls() throws Exception {
    Path pem = store.resolve("lab-ca.pem");
    Files.copy(cert.certificate().toPath(), pem);
    start("", "    tls: {caBundle: " + pem + "}\n", "");
    assertThat(client.get("/v2/app/manifests/v1").body()).isEqualTo(img.manifest());
    assertThat(client.get("/v2/app/blobs/" + img.layerDigest(0)).body())
        .isEqualTo(img.layers().get(0));
  }

  @Test
  void caBundle_otherCertificate_stillRefused() throws Exception {
    SelfSignedCertificate other = new SelfSignedCertificate("localhost");
    Path pem = store.resolve("other-ca.pem");
    Files.copy(other.certificate().toPath(), pem);
    start("", "    tls: {caBundle: " + pem + "}\n", "");
    assertThat(client.get("/v2/app/manifests/v1").statusCode()).isEqualTo(502);
  }

  @Test
  void insecure_pulls() throws Exception {
    start("", "    tls: {insecure: true}\n", "");
    assertThat(client.get("/v2/app/manifests/v1").body()).isEqualTo(img.manifest());
    assertThat(client.get("/v2/app/blobs/" + img.layerDigest(0)).body())
        .isEqualTo(img.layers().get(0));
  }
}
