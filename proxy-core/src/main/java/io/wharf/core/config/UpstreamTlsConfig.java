package io.wharf.core.config;

import java.nio.file.Files;
import java.nio.file.Path;

/**
 * How Wharf checks an upstream's TLS certificate.
 *
 * @param caBundle a PEM file of CA certificates trusted for this upstream in addition to the
 *     system trust store (a site CA, a self-signed lab registry)
 * @param insecure accept any certificate and host name (labs only: anyone on the path can then
 *     read and change what Wharf fetches, and the credentials it sends); logged as a warning at
 *     start
 */
public record UpstreamTlsConfig(String caBundle, Boolean insecure) {

  public static final UpstreamTlsConfig SYSTEM = new UpstreamTlsConfig(null, false);

  public UpstreamTlsConfig withDefaults() {
    return new UpstreamTlsConfig(caBundle, insecure != null && insecure);
  }

  /** True when the JVM's default trust applies unchanged. */
  @com.fasterxml.jackson.annotation.JsonIgnore
  public boolean isSystem() {
    return caBundle == null && !insecure;
  }

  void validate(String where) {
    if (caBundle != null && !Files.isReadable(Path.of(caBundle))) {
      throw new ConfigException(where + ".caBundle: cannot read " + caBundle);
    }
    if (caBundle != null && insecure) {
      throw new ConfigException(where + ": caBundle and insecure exclude each other");
    }
  }
}
