package io.wharf.core.config;

import java.net.URI;
import java.time.Duration;
import java.util.List;
import java.util.Locale;
import java.util.regex.Pattern;

/**
 * One upstream registry.
 *
 * @param name how clients select it: the {@code ns} host containerd sends, and the path prefix of
 *     registries.conf prefix mirrors ({@code /v2/<name>/...}); a valid repository path component
 * @param url base URL of the registry API ({@code https://registry-1.docker.io})
 * @param hosts extra registry host names that select this upstream via {@code ?ns=} (the name is
 *     always one)
 * @param credentials how to authenticate (anonymous when absent)
 * @param tagTtl how long a tag→digest answer is served without asking the upstream
 * @param negativeTtl how long an upstream 404 for a tag is remembered
 * @param connectTimeout TCP/TLS connect timeout
 * @param requestTimeout time to response headers
 * @param idleTimeout longest pause inside a body before the connection counts as stalled
 * @param retries how many times a broken blob download is resumed before giving up
 * @param maxConnections concurrent requests to this upstream (a blob download holds its slot until
 *     its body ends); 0 means unlimited
 * @param maxBandwidth bytes per second for all blob bodies from this upstream together (e.g.
 *     {@code 100MiB}); absent means unlimited
 * @param queueTimeout how long a request waits for a free slot before it fails with 503
 * @param breakerFailures consecutive transient failures (5xx, timeout, refused) that open the
 *     circuit breaker; 0 disables it
 * @param breakerOpenFor how long an open breaker fails requests fast before letting one through
 * @param access which clients may pull through this upstream (open when absent)
 * @param cancelWhenAbandoned cancel a blob download when every client reading it has gone away
 *     before it completed (default false: finish and store it, the next job wants it)
 * @param tls how the upstream's certificate is checked: system trust store, plus an optional CA
 *     bundle, or {@code insecure} for labs
 * @param kind {@code registry} (default) or {@code wharf}: the URL is another Wharf (a site
 *     Wharf above this cluster Wharf), and every request to it carries {@code ?ns=<name>} so it
 *     routes to its own upstream of that name; several upstreams may share one parent URL
 */
public record UpstreamConfig(
    String name,
    String url,
    List<String> hosts,
    Credentials credentials,
    Duration tagTtl,
    Duration negativeTtl,
    Duration connectTimeout,
    Duration requestTimeout,
    Duration idleTimeout,
    Integer retries,
    Integer maxConnections,
    String maxBandwidth,
    Duration queueTimeout,
    Integer breakerFailures,
    Duration breakerOpenFor,
    AccessConfig access,
    Boolean cancelWhenAbandoned,
    UpstreamTlsConfig tls,
    Kind kind) {

  /** What the URL points at. */
  public enum Kind {
    /** A registry: the repository names and credentials are its own. */
    registry,
    /** Another Wharf, told the original registry with {@code ?ns=<name>}. */
    wharf
  }

  /** Without {@code kind} (a plain registry). */
  public UpstreamConfig(String name, String url, List<String> hosts, Credentials credentials,
      Duration tagTtl, Duration negativeTtl, Duration connectTimeout, Duration requestTimeout,
      Duration idleTimeout, Integer retries, Integer maxConnections, String maxBandwidth,
      Duration queueTimeout, Integer breakerFailures, Duration breakerOpenFor,
      AccessConfig access, Boolean cancelWhenAbandoned, UpstreamTlsConfig tls) {
    this(name, url, hosts, credentials, tagTtl, negativeTtl, connectTimeout, requestTimeout,
        idleTimeout, retries, maxConnections, maxBandwidth, queueTimeout, breakerFailures,
        breakerOpenFor, access, cancelWhenAbandoned, tls, null);
  }

  public static final String DOCKER_HUB_NAME = "docker.io";
  public static final String DOCKER_HUB_URL = "https://registry-1.docker.io";
  private static final Pattern NAME = Pattern.compile("[a-z0-9]+(?:[._-][a-z0-9]+)*");

  /** Docker Hub with every default: the embedded default upstream. */
  public static UpstreamConfig dockerHub() {
    return of(DOCKER_HUB_NAME, DOCKER_HUB_URL);
  }

  public static UpstreamConfig of(String name, String url) {
    return new UpstreamConfig(
            name, url, null, null, null, null, null, null, null, null, null, null, null, null, null,
            null, null, null, null)
        .withDefaults();
  }

  /** Upstream {@code name} served by the parent Wharf at {@code url}, with every default. */
  public static UpstreamConfig parentWharf(String name, String url) {
    return new UpstreamConfig(
            name, url, null, null, null, null, null, null, null, null, null, null, null, null, null,
            null, null, null, Kind.wharf)
        .withDefaults();
  }

  /** Fills every unset field with its default. */
  public UpstreamConfig withDefaults() {
    return new UpstreamConfig(
        name,
        url == null ? null : url.replaceAll("/+$", ""),
        hosts == null ? List.of() : List.copyOf(hosts),
        credentials == null ? Credentials.NONE : credentials,
        tagTtl == null ? Duration.ofMinutes(5) : tagTtl,
        negativeTtl == null ? Duration.ofSeconds(30) : negativeTtl,
        connectTimeout == null ? Duration.ofSeconds(10) : connectTimeout,
        requestTimeout == null ? Duration.ofSeconds(30) : requestTimeout,
        idleTimeout == null ? Duration.ofSeconds(30) : idleTimeout,
        retries == null ? 3 : retries,
        maxConnections == null ? 64 : maxConnections,
        maxBandwidth,
        queueTimeout == null ? Duration.ofSeconds(10) : queueTimeout,
        breakerFailures == null ? 5 : breakerFailures,
        breakerOpenFor == null ? Duration.ofSeconds(30) : breakerOpenFor,
        access == null ? new AccessConfig(List.of(), null, false) : access.withDefaults(),
        cancelWhenAbandoned != null && cancelWhenAbandoned,
        tls == null ? UpstreamTlsConfig.SYSTEM : tls.withDefaults(),
        kind == null ? Kind.registry : kind);
  }

  /** {@link #maxBandwidth} in bytes per second, or 0 when unlimited. */
  public long maxBandwidthBytes() {
    return maxBandwidth == null ? 0 : ByteSizes.parse(maxBandwidth);
  }

  void validate(String where) {
    if (name == null || !NAME.matcher(name).matches()) {
      throw new ConfigException(
          where + ".name: '" + name + "' must be lowercase letters, digits and . _ - "
              + "(it is used as a path component, e.g. docker.io, ghcr.io, gitlab.site)");
    }
    if (url == null) {
      throw new ConfigException(where + ".url is required");
    }
    URI u;
    try {
      u = URI.create(url);
    } catch (IllegalArgumentException e) {
      throw new ConfigException(where + ".url: invalid URL '" + url + "'");
    }
    String scheme = u.getScheme() == null ? "" : u.getScheme().toLowerCase(Locale.ROOT);
    if (!(scheme.equals("http") || scheme.equals("https")) || u.getHost() == null) {
      throw new ConfigException(where + ".url: '" + url + "' must be an http(s) URL with a host");
    }
    if (u.getUserInfo() != null) {
      throw new ConfigException(where + ".url: put credentials under credentials:, not in the URL");
    }
    positive(where + ".tagTtl", tagTtl, true);
    positive(where + ".negativeTtl", negativeTtl, true);
    positive(where + ".connectTimeout", connectTimeout, false);
    positive(where + ".requestTimeout", requestTimeout, false);
    positive(where + ".idleTimeout", idleTimeout, false);
    if (retries < 0 || retries > 100) {
      throw new ConfigException(where + ".retries must be between 0 and 100");
    }
    if (maxConnections < 0) {
      throw new ConfigException(where + ".maxConnections must be zero (unlimited) or more");
    }
    try {
      maxBandwidthBytes();
    } catch (IllegalArgumentException e) {
      throw new ConfigException(where + ".maxBandwidth: " + e.getMessage());
    }
    positive(where + ".queueTimeout", queueTimeout, true);
    if (breakerFailures < 0) {
      throw new ConfigException(where + ".breakerFailures must be zero (off) or more");
    }
    positive(where + ".breakerOpenFor", breakerOpenFor, false);
    access.validate(where + ".access");
    tls.validate(where + ".tls");
    if (!tls.isSystem() && !scheme.equals("https")) {
      throw new ConfigException(where + ".tls applies to https:// upstreams only");
    }
  }

  private static void positive(String key, Duration d, boolean zeroOk) {
    if (d.isNegative() || (!zeroOk && d.isZero())) {
      throw new ConfigException(key + " must be " + (zeroOk ? "zero or more" : "positive"));
    }
  }

  public URI baseUri() {
    return URI.create(url);
  }

  /** The registry names this upstream claims for {@code ?ns=}: its name, hosts and URL host. */
  @com.fasterxml.jackson.annotation.JsonIgnore
  public List<String> registryNames() {
    List<String> out = new java.util.ArrayList<>();
    out.add(name);
    out.addAll(hosts == null ? List.of() : hosts);
    if (kind != Kind.wharf && url != null) {
      URI u = baseUri();
      if (u.getHost() != null) {
        // Clients name a registry on a non-default port as host:port.
        out.add(u.getHost().toLowerCase(Locale.ROOT) + (u.getPort() == -1 ? "" : ":" + u.getPort()));
      }
    }
    return out;
  }

  /**
   * True for Docker Hub, where single-component names get {@code library/}: by URL, or a parent
   * Wharf entry named {@code docker.io} (the parent's own Docker Hub upstream would add it too,
   * but this instance's cache keys and repository links should name what Docker Hub names).
   */
  @com.fasterxml.jackson.annotation.JsonIgnore
  public boolean isDockerHub() {
    if (kind == Kind.wharf) {
      return DOCKER_HUB_NAME.equals(name);
    }
    String host = baseUri().getHost();
    return host.equals("registry-1.docker.io")
        || host.equals("index.docker.io")
        || host.equals("docker.io");
  }

  /**
   * Whether {@code ns} (a registry host as containerd sends it) selects this upstream: its name,
   * its {@code hosts}, or the host (and host:port) of its own URL — not for a parent Wharf, whose
   * URL is shared by several upstreams and names none of them.
   */
  public boolean answersTo(String ns) {
    String h = ns.toLowerCase(Locale.ROOT);
    if (h.equals(name) || hosts.stream().anyMatch(x -> x.equalsIgnoreCase(h))) {
      return true;
    }
    if (kind == Kind.wharf) {
      return isDockerHub()
          && (h.equals("registry-1.docker.io") || h.equals("index.docker.io"));
    }
    URI u = baseUri();
    String host = u.getHost().toLowerCase(Locale.ROOT);
    if (h.equals(host) || (u.getPort() != -1 && h.equals(host + ":" + u.getPort()))) {
      return true;
    }
    return isDockerHub()
        && (h.equals("docker.io") || h.equals("registry-1.docker.io") || h.equals("index.docker.io"));
  }
}
