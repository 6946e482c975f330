package io.wharf.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.netty.handler.ssl.util.SelfSignedCertificate;
import io.wharf.core.config.WharfConfig;
import io.wharf.core.oci.Digest;
import io.wharf.core.testing.ScriptedUpstream;
import io.wharf.core.testing.TestImages;
import java.io.InputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.FileTime;
import java.security.KeyStore;
import java.security.cert.Certificate;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.TrustManagerFactory;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** TLS on the listener: pulls over HTTPS (blobs through the chunked path) and certificate reload. */
@Timeout(90)
class TlsIT {
  @TempDir Path dir;
  ScriptedUpstream upstream;
  WharfServer server;

  @AfterEach
  void tearDown() throws Exception {
    if (server != null) {
      server.close();
    }
    if (upstream != null) {
      upstream.close();
    }
  }

  private static SSLContext trusting(X509Certificate... certs) throws Exception {
    KeyStore ks = KeyStore.getInstance(KeyStore.getDefaultType());
    ks.load(null, null);
    for (int i = 0; i < certs.length; i++) {
      ks.setCertificateEntry("c" + i, certs[i]);
    }
    TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
    tmf.init(ks);
    SSLContext ctx = SSLContext.getInstance("TLS");
    ctx.init(null, tmf.getTrustManagers(), null);
    return ctx;
  }

  private static void install(SelfSignedCertificate c, Path cert, Path key, Instant mtime)
      throws Exception {
    Files.copy(c.certificate().toPath(), cert, StandardCopyOption.REPLACE_EXISTING);
    Files.copy(c.privateKey().toPath(), key, StandardCopyOption.REPLACE_EXISTING);
    Files.setLastModifiedTime(cert, FileTime.from(mtime));
    Files.setLastModifiedTime(key, FileTime.from(mtime));
  }

  @Test
  void pullOverTls_thenCertificateReloadedWithoutRestart() throws Exception {
    upstream = new ScriptedUpstream();
    TestImages.Image img = TestImages.image(1, 3 << 20, 1000);
    TestImages.publish(upstream, "app", "v1", img);
    SelfSignedCertificate first = new SelfSignedCertificate("localhost");
    SelfSignedCertificate second = new SelfSignedCertificate("localhost");
    Path cert = dir.resolve("tls.crt");
    Path key = dir.resolve("tls.key");
    install(first, cert, key, Instant.now().minusSeconds(60));
    server = WharfServer.start(WharfConfig.parse("listen: 127.0.0.1:0\n"
        + "upstreams:\n  - name: up\n    url: " + upstream.url() + "\n"
        + "storage:\n  tiers:\n    - path: " + dir.resolve("store") + "\n"
        + "server:\n  shutdownGrace: 1s\n  tls:\n    certificate: " + cert + "\n    key: " + key
        + "\n    reloadInterval: 100ms\n"));
    String base = "https://localhost:" + server.port();
    HttpClient https = HttpClient.newBuilder().sslContext(trusting(first.cert(), second.cert()))
        .version(HttpClient.Version.HTTP_1_1).build();

    HttpResponse<byte[]> m = https.send(HttpRequest.newBuilder(URI.create(base + "/v2/app/manifests/v1")).build(),
        HttpResponse.BodyHandlers.ofByteArray());
    assertThat(m.statusCode()).isEqualTo(200);
    assertThat(m.body()).isEqualTo(img.manifest());
    for (int round = 0; round < 2; round++) { // cold (in flight), then cached
      HttpResponse<InputStream> b = https.send(HttpRequest.newBuilder(
          URI.create(base + "/v2/app/blobs/" + img.layerDigest(0))).build(),
          HttpResponse.BodyHandlers.ofInputStream());
      byte[] body = b.body().readAllBytes();
      assertThat(Digest.sha256Of(body)).isEqualTo(img.layerDigest(0));
    }
    HttpResponse<byte[]> range = https.send(HttpRequest.newBuilder(
        URI.create(base + "/v2/app/blobs/" + img.layerDigest(0))).header("Range", "bytes=100-199").build(),
        HttpResponse.BodyHandlers.ofByteArray());
    assertThat(range.statusCode()).isEqualTo(206);
    assertThat(range.body()).isEqualTo(java.util.Arrays.copyOfRange(img.layers().get(0), 100, 200));

    assertThat(presented(server.port(), first.cert(), second.cert())).isEqualTo(first.cert());
    install(second, cert, key, Instant.now());
    await().atMost(Duration.ofSeconds(10)).until(
        () -> presented(server.port(), first.cert(), second.cert()).equals(second.cert()));
  }

  private static Certificate presented(int port, X509Certificate... trusted) throws Exception {
    try (SSLSocket s = (SSLSocket) trusting(trusted).getSocketFactory().createSocket("localhost", port)) {
      s.startHandshake();
      return s.getSession().getPeerCertificates()[0];
    }
  }
}
