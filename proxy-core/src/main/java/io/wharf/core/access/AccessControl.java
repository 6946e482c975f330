package io.wharf.core.access;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import io.wharf.core.config.AccessConfig;
import io.wharf.core.config.UpstreamConfig;
import io.wharf.core.oci.Digest;
import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;

/**
 * Decides whether a client may pull through an upstream: its address must be in the upstream's
 * {@code allow} networks (when any are set), and, when the upstream has an htpasswd file, it must
 * send valid Basic credentials. bcrypt checks run on the given executor, never an event loop; a
 * success is remembered for a short while (keyed by a hash of the credentials, never the
 * password itself) so a node pulling 30 layers pays for one check.
 */
public final class AccessControl {

  /** What the server answers. */
  public enum Outcome {
    ALLOWED,
    /** 401 with a Basic challenge. */
    NEED_AUTH,
    /** 403: the client's network may not use this upstream. */
    FORBIDDEN
  }

  /** A decision, with the authenticated user (or null) and why, for the log. */
  public record Decision(Outcome outcome, String user, String reason) {
    static final Decision OPEN = new Decision(Outcome.ALLOWED, null, "open");
  }

  private record Policy(List<Cidr> allow, Htpasswd users) {
    boolean open() {
      return allow.isEmpty() && users == null;
    }
  }

  private final Map<String, Policy> byUpstream = new LinkedHashMap<>();
  private final Executor executor;
  private final Cache<String, Boolean> recent =
      Caffeine.newBuilder().expireAfterWrite(Duration.ofMinutes(5)).maximumSize(10_000).build();

  public AccessControl(List<UpstreamConfig> upstreams, Executor executor) {
    this.executor = executor;
    for (UpstreamConfig u : upstreams) {
      AccessConfig a = u.access();
      byUpstream.put(u.name(), new Policy(
          a.allow().stream().map(Cidr::parse).toList(),
          a.htpasswd() == null ? null : new Htpasswd(Path.of(a.htpasswd()))));
    }
  }

  /** True when no upstream restricts anyone: every check is a no-op. */
  public boolean allOpen() {
    return byUpstream.values().stream().allMatch(Policy::open);
  }

  /** The Basic realm clients are challenged with for {@code upstream}. */
  public static String realm(String upstream) {
    return "wharf " + upstream;
  }

  /** May {@code client}, sending {@code authorization} (or null), pull through {@code upstream}? */
  public CompletableFuture<Decision> check(String upstream, InetAddress client, String authorization) {
    Policy p = byUpstream.get(upstream);
    if (p == null || p.open()) {
      return CompletableFuture.completedFuture(Decision.OPEN);
    }
    if (!p.allow().isEmpty() && p.allow().stream().noneMatch(c -> c.contains(client))) {
      return CompletableFuture.completedFuture(new Decision(Outcome.FORBIDDEN, null,
          "client address " + client.getHostAddress() + " is not in the allowed networks"));
    }
    if (p.users() == null) {
      return CompletableFuture.completedFuture(new Decision(Outcome.ALLOWED, null, "network"));
    }
    String[] creds = basic(authorization);
    if (creds == null) {
      return CompletableFuture.completedFuture(
          new Decision(Outcome.NEED_AUTH, null, "no Basic credentials"));
    }
    String key = upstream + "\n" + creds[0] + "\n"
        + Digest.sha256Of(creds[1].getBytes(StandardCharsets.UTF_8)).hex();
    if (recent.getIfPresent(key) != null) {
      return CompletableFuture.completedFuture(new Decision(Outcome.ALLOWED, creds[0], "cached"));
    }
    return CompletableFuture.supplyAsync(() -> {
      if (p.users().check(creds[0], creds[1])) {
        recent.put(key, Boolean.TRUE);
        return new Decision(Outcome.ALLOWED, creds[0], "password");
      }
      return new Decision(Outcome.NEED_AUTH, creds[0], "wrong user or password");
    }, executor);
  }

  /**
   * For {@code GET /v2/}, which names no upstream: allowed when any upstream would allow the
   * client (so clients that must authenticate get a challenge here first, as they expect).
   */
  public CompletableFuture<Decision> checkAny(InetAddress client, String authorization) {
    if (allOpen()) {
      return CompletableFuture.completedFuture(Decision.OPEN);
    }
    CompletableFuture<Decision> result = CompletableFuture.completedFuture(
        new Decision(Outcome.FORBIDDEN, null, "no upstream allows this client"));
    for (String upstream : byUpstream.keySet()) {
      result = result.thenCompose(best -> best.outcome() == Outcome.ALLOWED
          ? CompletableFuture.completedFuture(best)
          : check(upstream, client, authorization).thenApply(d ->
              d.outcome() == Outcome.ALLOWED || best.outcome() == Outcome.FORBIDDEN ? d : best));
    }
    return result;
  }

  /** The first upstream that wants Basic auth (its realm goes in the /v2/ challenge), or null. */
  public String firstAuthenticatedUpstream() {
    return byUpstream.entrySet().stream().filter(e -> e.getValue().users() != null)
        .map(Map.Entry::getKey).findFirst().orElse(null);
  }

  private static String[] basic(String authorization) {
    if (authorization == null || !authorization.regionMatches(true, 0, "Basic ", 0, 6)) {
      return null;
    }
    try {
      String decoded = new String(Base64.getDecoder().decode(authorization.substring(6).trim()),
          StandardCharsets.UTF_8);
      int colon = decoded.indexOf(':');
      return colon <= 0 ? null : new String[] {decoded.substring(0, colon), decoded.substring(colon + 1)};
    } catch (IllegalArgumentException e) {
      return null;
    }
  }
}
