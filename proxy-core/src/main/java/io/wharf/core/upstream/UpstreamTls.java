package io.wharf.core.upstream;

import io.wharf.core.config.ConfigException;
import io.wharf.core.config.UpstreamTlsConfig;
import java.io.IOException;
import java.io.InputStream;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.SecureRandom;
import java.security.cert.Certificate;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.util.Collection;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.TrustManager;
import javax.net.ssl.TrustManagerFactory;
import javax.net.ssl.X509ExtendedTrustManager;
import javax.net.ssl.X509TrustManager;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The {@link SSLContext} an upstream's client uses: the JVM's default (system trust store), the
 * system CAs plus a PEM bundle (one PKIX trust manager over both, so host names are still
 * checked), or for {@code insecure: true} one that accepts any certificate and host name.
 */
final class UpstreamTls {
  private static final Logger log = LoggerFactory.getLogger(UpstreamTls.class);

  private UpstreamTls() {}

  /** Null when the JVM default applies. */
  static SSLContext context(String upstream, UpstreamTlsConfig tls) {
    if (tls == null || tls.isSystem()) {
      return null;
    }
    try {
      SSLContext ctx = SSLContext.getInstance("TLS");
      if (tls.insecure()) {
        log.warn("upstream {}: tls.insecure is set; its certificate and host name are NOT checked"
            + " (anyone on the network path can read and alter what Wharf fetches)", upstream);
        ctx.init(null, new TrustManager[] {new TrustAll()}, new SecureRandom());
        return ctx;
      }
      KeyStore ks = KeyStore.getInstance(KeyStore.getDefaultType());
      ks.load(null, null);
      int n = 0;
      for (X509Certificate ca : systemTrustManager().getAcceptedIssuers()) {
        ks.setCertificateEntry("system-" + n++, ca);
      }
      Collection<? extends Certificate> bundle = readPem(Path.of(tls.caBundle()));
      if (bundle.isEmpty()) {
        throw new ConfigException("upstream " + upstream + ": tls.caBundle " + tls.caBundle()
            + " holds no PEM certificate");
      }
      int b = 0;
      for (Certificate c : bundle) {
        ks.setCertificateEntry("bundle-" + b++, c);
      }
      TrustManagerFactory tmf =
          TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
      tmf.init(ks);
      ctx.init(null, tmf.getTrustManagers(), new SecureRandom());
      log.info("upstream {}: trusting the system CAs and {} certificate(s) from {}", upstream, b,
          tls.caBundle());
      return ctx;
    } catch (GeneralSecurityException | IOException e) {
      throw new ConfigException("upstream " + upstream + ": cannot set up TLS trust: " + e);
    }
  }

  private static X509TrustManager systemTrustManager() throws GeneralSecurityException {
    TrustManagerFactory tmf =
        TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
    tmf.init((KeyStore) null);
    for (TrustManager tm : tmf.getTrustManagers()) {
      if (tm instanceof X509TrustManager x) {
        return x;
      }
    }
    throw new GeneralSecurityException("no X.509 trust manager in the JVM");
  }

  private static Collection<? extends Certificate> readPem(Path file)
      throws IOException, GeneralSecurityException {
    try (InputStream in = Files.newInputStream(file)) {
      return CertificateFactory.getInstance("X.509").generateCertificates(in);
    }
  }

  /**
   * Accepts everything. Being an {@link X509ExtendedTrustManager} matters: JSSE then leaves the
   * host name check to it (a plain {@link X509TrustManager} would be wrapped and still check).
   */
  private static final class TrustAll extends X509ExtendedTrustManager {
    @Override
    public void checkClientTrusted(X509Certificate[] chain, String authType, Socket socket) {}

    @Override
    public void checkServerTrusted(X509Certificate[] chain, String authType, Socket socket) {}

    @Override
    public void checkClientTrusted(X509Certificate[] chain, String authType, SSLEngine engine) {}

    @Override
    public void checkServerTrusted(X509Certificate[] chain, String authType, SSLEngine engine) {}

    @Override
    public void checkClientTrusted(X509Certificate[] chain, String authType) {}

    @Override
    public void checkServerTrusted(X509Certificate[] chain, String authType) {}

    @Override
    public X509Certificate[] getAcceptedIssuers() {
      return new X509Certificate[0];
    }
  }
}
