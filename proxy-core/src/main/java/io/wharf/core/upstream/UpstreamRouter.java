package io.wharf.core.upstream;

import io.wharf.core.config.UpstreamConfig;
import io.wharf.core.oci.ErrorCode;
import io.wharf.core.oci.RegistryException;
import io.wharf.core.oci.RepositoryName;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Chooses the upstream for a request, in this order: the {@code ns} query parameter containerd
 * adds ({@code ?ns=ghcr.io}); a first path segment equal to an upstream's name ({@code
 * /v2/ghcr.io/org/app/...}, as registries.conf prefix mirrors send), which is stripped; else the
 * default upstream. Docker Hub's single-component names get {@code library/}.
 */
public final class UpstreamRouter {

  /** The chosen upstream and the repository name as that upstream knows it. */
  public record Routed(RegistryClient client, RepositoryName repository) {
    public String upstream() {
      return client.config().name();
    }
  }

  private final Map<String, RegistryClient> byName = new LinkedHashMap<>();
  private final RegistryClient defaultClient;
  private final boolean unknownToDefault;

  public UpstreamRouter(List<RegistryClient> clients, String defaultName) {
    this(clients, defaultName, false);
  }

  /**
   * @param unknownToDefault route an {@code ns} that no upstream answers to (or an empty one) to
   *     the default upstream instead of refusing it
   */
  public UpstreamRouter(List<RegistryClient> clients, String defaultName, boolean unknownToDefault) {
    this.unknownToDefault = unknownToDefault;
    for (RegistryClient c : clients) {
      byName.put(c.config().name(), c);
    }
    this.defaultClient = byName.get(defaultName);
    if (defaultClient == null) {
      throw new IllegalArgumentException("no upstream named " + defaultName);
    }
  }

  /**
   * Routes {@code name} (as the client sent it) with an optional {@code ns} (null when absent).
   *
   * @throws RegistryException NAME_UNKNOWN (404) for an {@code ns} no upstream answers to
   */
  public Routed route(String ns, RepositoryName name) {
    if (ns != null) {
      for (RegistryClient c : byName.values()) {
        if (!ns.isEmpty() && c.config().answersTo(ns)) {
          return new Routed(c, normalize(c.config(), name));
        }
      }
      if (unknownToDefault) {
        return new Routed(defaultClient, normalize(defaultClient.config(), name));
      }
      throw new RegistryException(
          ErrorCode.NAME_UNKNOWN,
          (ns.isEmpty() ? "the ns parameter is empty" : "no upstream is configured for registry '"
              + sanitize(ns) + "'") + " (configured: " + String.join(", ", byName.keySet()) + ")");
    }
    if (name.components() > 1) {
      RegistryClient prefixed = byName.get(name.firstComponent());
      if (prefixed != null) {
        return new Routed(prefixed, normalize(prefixed.config(), name.withoutFirstComponent()));
      }
    }
    return new Routed(defaultClient, normalize(defaultClient.config(), name));
  }

  static RepositoryName normalize(UpstreamConfig cfg, RepositoryName name) {
    if (name.components() == 1 && cfg.isDockerHub()) {
      return name.withPrefix("library");
    }
    return name;
  }

  public RegistryClient defaultClient() {
    return defaultClient;
  }

  public List<RegistryClient> clients() {
    return List.copyOf(byName.values());
  }

  private static String sanitize(String s) {
    String t = s.length() > 100 ? s.substring(0, 100) + "..." : s;
    return t.replaceAll("[^A-Za-z0-9._:\\-\\[\\]]", "?");
  }
}
