package io.wharf.core.config;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;

/**
 * TLS on the registry listener.
 *
 * @param certificate PEM certificate chain file
 * @param key PEM private key file (PKCS#8, unencrypted)
 * @param reloadInterval how often the files are checked for changes; a changed pair is loaded
 *     for new connections without a restart
 */
public record TlsConfig(String certificate, String key, Duration reloadInterval) {

  public TlsConfig withDefaults() {
    return new TlsConfig(certificate, key,
        reloadInterval == null ? Duration.ofSeconds(30) : reloadInterval);
  }

  void validate() {
    if (certificate == null || key == null) {
      throw new ConfigException("server.tls needs both certificate and key (PEM files)");
    }
    for (String f : new String[] {certificate, key}) {
      if (!Files.isReadable(Path.of(f))) {
        throw new ConfigException("server.tls: cannot read " + f);
      }
    }
    if (reloadInterval.isNegative() || reloadInterval.isZero()) {
      throw new ConfigException("server.tls.reloadInterval must be positive");
    }
  }
}
